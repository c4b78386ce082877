// Package client is a Go client of hive serve for agents: publish a skill
// (signed here, with the instance's key), search and subscribe to skills by
// intent, resolve an intent to the best skill. It checks what the server
// returns: a skill's bytes must hash to its id, and its signature must
// verify with its instance's key, which the client pins on first sight
// (KnownKeys) so that a server cannot swap it later.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// maxResponse bounds a response body.
const maxResponse = 64 << 20

// Client talks to one hive server.
type Client struct {
	BaseURL string
	HTTP    *http.Client
	// Known pins each instance's key on first sight. New sets it to the
	// file DefaultKnownKeysPath names (in memory only when there is none).
	Known *KnownKeys

	mu   sync.Mutex
	keys map[string]*signer // instance -> its key on this server, fetched once
}

// signer is an instance's key as the server registered it.
type signer struct {
	key     *signing.PublicKey
	revoked bool
}

// New returns a client of the server at baseURL (http://127.0.0.1:8080).
func New(baseURL string) *Client {
	p, _ := DefaultKnownKeysPath()
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: http.DefaultClient, Known: &KnownKeys{Path: p}}
}

// Error is an error answer of the server.
type Error struct {
	Status  int      // the HTTP status
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Reasons []string `json:"reasons"`
}

func (e *Error) Error() string {
	text := e.Message
	if text == "" {
		text = strings.ToLower(http.StatusText(e.Status)) // a body that said nothing
	}
	msg := fmt.Sprintf("hive server: %d %s: %s", e.Status, e.Code, text)
	if len(e.Reasons) > 0 {
		msg += ": " + strings.Join(e.Reasons, "; ")
	}
	return msg
}

// ErrNotFound reports no skill for an id, or none above the threshold.
var ErrNotFound = errors.New("no such skill")

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct{ Error Error }
		if json.Unmarshal(b, &e) != nil || e.Error.Code == "" {
			e.Error.Code, e.Error.Message = "http", strings.TrimSpace(string(b))
		}
		e.Error.Status = resp.StatusCode
		return &e.Error
	}
	return json.Unmarshal(b, out)
}

// Published is the server's answer to a new skill.
type Published struct {
	TraceID schema.ID `json:"trace_id"`
	Commit  string    `json:"commit"`
	// Warnings name skills on main the new one is nearly identical to.
	Warnings []string `json:"warnings"`
}

// Publish signs a trace with key (its instance's private key) and posts it:
// no local hive, no commit. The trace is checked first as hive add checks
// it (strict parse, schema), so a bad trace fails here with the same rule
// codes. An error from the server is an *Error: 400 invalid, 403 unknown
// key, 409 already present.
func (c *Client) Publish(ctx context.Context, trace []byte, key *signing.PrivateKey) (*Published, error) {
	canon, err := schema.Canonical(trace)
	if err != nil {
		return nil, err
	}
	if _, err := schema.ParseCanonical(canon); err != nil {
		return nil, err
	}
	if key == nil {
		return nil, errors.New("publish: no key to sign with")
	}
	bundle, err := signing.Sign(key, canon)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	env, err := registry.MarshalEnvelope(canon, bundle)
	if err != nil {
		return nil, err
	}
	return c.PublishEnvelope(ctx, env)
}

// PublishEnvelope posts a federation_trace_v1 envelope as it is (hive
// export makes one); errors as Publish.
func (c *Client) PublishEnvelope(ctx context.Context, envelope []byte) (*Published, error) {
	var p Published
	if err := c.do(ctx, http.MethodPost, "/skills", envelope, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Match is a skill that matched an intent.
type Match struct {
	ID                schema.ID `json:"id"`
	Intent            string    `json:"intent"`
	InstanceID        string    `json:"instance_id"`
	Confidence        float64   `json:"confidence"`
	VerificationScore float64   `json:"verification_score"`
	Score             float64   `json:"score"`
	Skill             *Skill    `json:"-"` // the whole skill, verified
}

// SearchOptions narrow a subscription.
type SearchOptions struct {
	Threshold float64 // 0: the server's default (0.7)
	Limit     int
	Instance  string
}

// Subscribe is Search under the seed's name (subscribe_to_skills).
func (c *Client) Subscribe(ctx context.Context, intent string, o SearchOptions) ([]Match, error) {
	return c.Search(ctx, intent, o)
}

// Search returns the skills whose intent matches, best first, each fetched
// whole and verified as Get verifies it (Match.Skill); one that does not
// verify fails the whole search, since the server sent a forgery.
func (c *Client) Search(ctx context.Context, intent string, o SearchOptions) ([]Match, error) {
	ms, err := c.search(ctx, intent, o)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			sk, err := c.Get(ctx, ms[i].ID)
			if err == nil && (sk.Trace.InstanceID != ms[i].InstanceID || sk.Trace.Intent != ms[i].Intent) {
				err = fmt.Errorf("skill %s: the search answer does not match the skill", ms[i].ID)
			}
			ms[i].Skill, errs[i] = sk, err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ms, nil
}

// search asks the server for the matches, unverified.
func (c *Client) search(ctx context.Context, intent string, o SearchOptions) ([]Match, error) {
	q := url.Values{"intent": {intent}}
	if o.Threshold > 0 {
		q.Set("threshold", strconv.FormatFloat(o.Threshold, 'f', -1, 64))
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Instance != "" {
		q.Set("instance", o.Instance)
	}
	var out struct {
		Skills []Match `json:"skills"`
	}
	if err := c.do(ctx, http.MethodGet, "/skills?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	return out.Skills, nil
}

// Skill is a whole skill as the server stores it.
type Skill struct {
	ID        schema.ID       `json:"trace_id"`
	Data      json.RawMessage `json:"trace"`     // the canonical trace file
	Signature json.RawMessage `json:"signature"` // its sigstore bundle
	Commit    string          `json:"commit"`    // the commit that introduced it
	Trace     *schema.Trace   `json:"-"`
	// Key is the key that verified the signature: the one the server has
	// registered for the trace's instance, as pinned in Known.
	Key *signing.PublicKey `json:"-"`
	// Revoked says that the server lists the instance's key as revoked.
	Revoked bool `json:"-"`
}

// Get fetches a skill and checks it: its bytes are canonical and hash to
// its id, and its signature verifies with the key the server registered
// for its instance, which must be the key pinned for that instance (pinned
// now if it is the first sight). A failed check is an error, never a
// skill.
func (c *Client) Get(ctx context.Context, id schema.ID) (*Skill, error) {
	var s Skill
	if err := c.do(ctx, http.MethodGet, "/skills/"+url.PathEscape(string(id)), nil, &s); err != nil {
		var e *Error
		if errors.As(err, &e) && e.Status == http.StatusNotFound {
			return nil, fmt.Errorf("skill %s: %w", id, ErrNotFound)
		}
		return nil, err
	}
	if got := schema.Digest(s.Data); got != id || s.ID != id {
		return nil, fmt.Errorf("skill %s: the server sent bytes that hash to %s", id, got)
	}
	t, err := schema.ParseCanonical(s.Data)
	if err != nil {
		return nil, fmt.Errorf("skill %s: %w", id, err)
	}
	s.Trace = t
	sg, err := c.signer(ctx, t.InstanceID)
	if err != nil {
		return nil, fmt.Errorf("skill %s: %w", id, err)
	}
	b, err := signing.ParseBundle(bytes.TrimSpace(s.Signature))
	if err == nil {
		err = b.Verify(sg.key, s.Data)
	}
	if err != nil {
		return nil, fmt.Errorf("skill %s: signature of instance %s: %w", id, t.InstanceID, err)
	}
	s.Key, s.Revoked = sg.key, sg.revoked
	return &s, nil
}

// signer returns instance's key on the server (GET /instances/{id}), once
// checked against the pins.
func (c *Client) signer(ctx context.Context, instance string) (*signer, error) {
	c.mu.Lock()
	sg, ok := c.keys[instance]
	c.mu.Unlock()
	if ok {
		return sg, nil
	}
	var in struct {
		Fingerprint string `json:"fingerprint"`
		Revoked     bool   `json:"revoked"`
		PublicKey   string `json:"public_key"`
	}
	if err := c.do(ctx, http.MethodGet, "/instances/"+url.PathEscape(instance), nil, &in); err != nil {
		return nil, fmt.Errorf("key of instance %s: %w", instance, err)
	}
	pub, err := signing.ParsePublicKeyPEM([]byte(in.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("key of instance %s: %w", instance, err)
	}
	if pub.Fingerprint() != in.Fingerprint {
		return nil, fmt.Errorf("key of instance %s: the server's fingerprint %s is not its key's", instance, schema.Quote(in.Fingerprint, 70))
	}
	if c.Known != nil {
		if err := c.Known.Check(c.BaseURL, instance, pub); err != nil {
			return nil, err
		}
	}
	sg = &signer{key: pub, revoked: in.Revoked}
	c.mu.Lock()
	if c.keys == nil {
		c.keys = map[string]*signer{}
	}
	c.keys[instance] = sg
	c.mu.Unlock()
	return sg, nil
}

// Resolve returns the best skill for an intent above the threshold: the
// seed's "instance B uses the imported skill".
func (c *Client) Resolve(ctx context.Context, intent string, o SearchOptions) (*Skill, error) {
	o.Limit = 1
	m, err := c.search(ctx, intent, o)
	if err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("intent %q: %w", intent, ErrNotFound)
	}
	return c.Get(ctx, m[0].ID)
}
