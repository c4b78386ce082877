// Package client is a Go client of hive serve for agents: publish a skill,
// subscribe to skills by intent, resolve an intent to the best skill. It
// checks what the server returns: a skill's bytes must hash to its id.
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

	"github.com/hive-dev/hive/schema"
)

// maxResponse bounds a response body.
const maxResponse = 64 << 20

// Client talks to one hive server.
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

// New returns a client of the server at baseURL (http://127.0.0.1:8080).
func New(baseURL string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: http.DefaultClient}
}

// Error is an error answer of the server.
type Error struct {
	Status  int      // the HTTP status
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Reasons []string `json:"reasons"`
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("hive server: %d %s: %s", e.Status, e.Code, e.Message)
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

// Publish posts a federation_trace_v1 envelope (hive export makes one). An
// error from the server is an *Error: 400 invalid, 403 unknown key, 409
// already present.
func (c *Client) Publish(ctx context.Context, envelope []byte) (*Published, error) {
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
}

// SearchOptions narrow a subscription.
type SearchOptions struct {
	Threshold float64 // 0: the server's default (0.7)
	Limit     int
	Instance  string
}

// Subscribe returns the skills whose intent matches, best first: the seed's
// subscribe_to_skills over HTTP.
func (c *Client) Subscribe(ctx context.Context, intent string, o SearchOptions) ([]Match, error) {
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
}

// Get fetches a skill and checks that its bytes are canonical and hash to
// its id.
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
	return &s, nil
}

// Resolve returns the best skill for an intent above the threshold: the
// seed's "instance B uses the imported skill".
func (c *Client) Resolve(ctx context.Context, intent string, o SearchOptions) (*Skill, error) {
	o.Limit = 1
	m, err := c.Subscribe(ctx, intent, o)
	if err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("intent %q: %w", intent, ErrNotFound)
	}
	return c.Get(ctx, m[0].ID)
}
