package mcp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Stdio is the transport of hive mcp: newline-delimited JSON-RPC over in
// and out, on the SDK's IOTransport with a reader in front of it that
// differs from the SDK's own in two ways.
//
// It answers every request read before in ends: at the end of input it
// waits (up to drainTimeout) until each request has its response on out,
// so `hive mcp < requests` works as a pipeline does.
//
// It answers a line that is no JSON-RPC message as JSON-RPC 2.0 says
// (-32700 for a line that is not JSON, -32600 for JSON that is not a
// message) and reads on, where the SDK's reader would end the session on
// it and lose the answers not yet written.
func Stdio(in io.Reader, out io.Writer) sdk.Transport {
	p := &pending{ids: map[string]bool{}}
	p.cond = sync.NewCond(&p.mu)
	w := &countWriter{w: out, p: p}
	return &sdk.IOTransport{
		Reader:        &lineReader{r: bufio.NewReader(in), p: p, w: w},
		Writer:        w,
		MaxLineLength: -1, // lineReader bounds a line, and answers one too long
	}
}

// drainTimeout bounds the wait for answers after the end of input.
const drainTimeout = 60 * time.Second

// maxLine is the longest line read as a message: the SDK's own bound.
const maxLine = sdk.DefaultMaxLineLength

// batchesUntil is the first protocol version without JSON-RPC batches.
const batchesUntil = "2025-06-18"

// pending is the set of requests read and not yet answered.
type pending struct {
	mu   sync.Mutex
	cond *sync.Cond
	ids  map[string]bool
}

func (p *pending) wait(limit time.Duration) {
	deadline := time.AfterFunc(limit, func() {
		p.mu.Lock()
		clear(p.ids)
		p.mu.Unlock()
		p.cond.Broadcast()
	})
	defer deadline.Stop()
	p.mu.Lock()
	for len(p.ids) > 0 {
		p.cond.Wait()
	}
	p.mu.Unlock()
}

// lineReader passes the SDK only lines that are JSON-RPC messages it
// accepts, each ending in a newline, and answers the others itself.
type lineReader struct {
	r       *bufio.Reader
	p       *pending
	w       *countWriter
	next    []byte // the rest of the line being passed on
	version string // the protocol version the client asked for in initialize
}

func (l *lineReader) Read(b []byte) (int, error) {
	for len(l.next) == 0 {
		line, tooLong, err := readLine(l.r)
		if len(line) > 0 || tooLong {
			l.next = l.check(line, tooLong)
		}
		if err != nil && len(l.next) == 0 {
			if err == io.EOF {
				l.p.wait(drainTimeout)
			}
			return 0, err
		}
	}
	n := copy(b, l.next)
	l.next = l.next[n:]
	return n, nil
}

// Close does not close the input: it is the process's.
func (l *lineReader) Close() error { return nil }

// readLine reads one line without its newline; a line over maxLine bytes
// is read to its end, dropped, and reported as tooLong.
func readLine(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		part, err := r.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(part) > maxLine+1 {
				tooLong, line = true, nil
			} else {
				line = append(line, part...)
			}
		}
		if err != bufio.ErrBufferFull {
			if len(line) > 0 && line[len(line)-1] == '\n' {
				line = line[:len(line)-1]
			}
			return bytes.TrimSpace(line), tooLong, err
		}
	}
}

// check returns the line to pass on (with its newline), or nil after
// answering a line that is no message the SDK accepts. It records the
// requests passed on, for the wait at the end of input.
func (l *lineReader) check(line []byte, tooLong bool) []byte {
	if tooLong {
		l.reject(jsonrpc.CodeInvalidRequest, nil, fmt.Sprintf("message over %d bytes", maxLine))
		return nil
	}
	if !json.Valid(line) {
		var v any
		err := json.Unmarshal(line, &v)
		l.reject(jsonrpc.CodeParseError, nil, "parse error: "+err.Error())
		return nil
	}
	var msgs []jsonrpc.Message
	switch line[0] {
	case '{':
		m, err := decode(line)
		if err != nil {
			l.reject(jsonrpc.CodeInvalidRequest, idOf(line), err.Error())
			return nil
		}
		msgs = []jsonrpc.Message{m}
	case '[':
		var raws []json.RawMessage
		json.Unmarshal(line, &raws)
		switch {
		case len(raws) == 0:
			l.reject(jsonrpc.CodeInvalidRequest, nil, "empty batch")
			return nil
		case !l.batches():
			l.reject(jsonrpc.CodeInvalidRequest, nil, fmt.Sprintf("protocol %s has no batches (since %s)", l.version, batchesUntil))
			return nil
		}
		for i, raw := range raws {
			m, err := decode(raw)
			if err != nil {
				l.reject(jsonrpc.CodeInvalidRequest, nil, fmt.Sprintf("batch member %d: %v", i+1, err))
				return nil
			}
			msgs = append(msgs, m)
		}
	default:
		l.reject(jsonrpc.CodeInvalidRequest, nil, "invalid request: a message is a JSON object")
		return nil
	}
	l.p.mu.Lock()
	for _, m := range msgs {
		if r, ok := m.(*jsonrpc.Request); ok && r.IsCall() {
			l.p.ids[idKey(r.ID)] = true
			if r.Method == "initialize" {
				var p struct {
					ProtocolVersion string `json:"protocolVersion"`
				}
				json.Unmarshal(r.Params, &p)
				l.version = p.ProtocolVersion
			}
		}
	}
	l.p.mu.Unlock()
	return append(line, '\n')
}

// batches reports whether the protocol the client asked for has JSON-RPC
// batches: the server answers in the version asked for if it has it, else
// in its newest, which has none.
func (l *lineReader) batches() bool {
	return l.version == "" || l.version < batchesUntil && slices.Contains(sdk.SupportedProtocolVersions(), l.version)
}

// decode decodes one JSON-RPC message as the SDK does, and also refuses
// what the SDK would take for a response though it is none: an object
// with an id but neither a method, nor a result, nor an error. (The SDK
// would pass it on as the answer to a request the server never sent, and
// the client would wait for an answer forever.)
func decode(raw []byte) (jsonrpc.Message, error) {
	m, err := jsonrpc.DecodeMessage(raw)
	if err != nil {
		return nil, invalid(err)
	}
	var shape struct {
		Method, Result, Error json.RawMessage
	}
	json.Unmarshal(raw, &shape)
	if shape.Method == nil && shape.Result == nil && shape.Error == nil {
		return nil, errNotMessage
	}
	return m, nil
}

// NotMessage reports whether raw, a JSON-RPC message as a client sent it,
// is an object with an id but neither a method, nor a result, nor an
// error, which the SDK would take for a response to a request never sent
// and answer with nothing; and, if so, the answer JSON-RPC wants: an
// invalid-request error (-32600) with the message's id.
//
// A batch with such a member gets one error naming the member, with no id.
func NotMessage(raw []byte) (answer []byte, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || !json.Valid(raw) {
		return nil, false
	}
	switch raw[0] {
	case '{':
		if _, err := decode(raw); err == errNotMessage {
			return errorResponse(jsonrpc.CodeInvalidRequest, idOf(raw), errNotMessage.Error()), true
		}
	case '[':
		var members []json.RawMessage
		json.Unmarshal(raw, &members)
		for i, m := range members {
			if _, err := decode(m); err == errNotMessage {
				return errorResponse(jsonrpc.CodeInvalidRequest, nil, fmt.Sprintf("batch member %d: %v", i+1, err)), true
			}
		}
	}
	return nil, false
}

var errNotMessage = errors.New("invalid request: a message needs a method, or an id and a result or error")

// invalid words the SDK's decoding error for a client.
func invalid(err error) error {
	var we *jsonrpc.Error
	if errors.As(err, &we) && we.Code == jsonrpc.CodeInvalidRequest {
		return errNotMessage
	}
	return fmt.Errorf("invalid request: %v", err)
}

// idOf is the id of a message that is not a valid one, if it has an id of
// a valid kind (a string or a number), else null.
func idOf(line []byte) any {
	var m struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(line, &m) != nil {
		return nil
	}
	switch m.ID.(type) {
	case string, float64:
		return m.ID
	}
	return nil
}

// reject writes an error response for a line not passed on.
func (l *lineReader) reject(code int64, id any, msg string) {
	l.w.write(append(errorResponse(code, id, msg), '\n'), false)
}

// errorResponse is a JSON-RPC error response.
func errorResponse(code int64, id any, msg string) []byte {
	resp := struct {
		JSONRPC string `json:"jsonrpc"`
		ID      any    `json:"id"`
		Error   struct {
			Code    int64  `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{JSONRPC: "2.0", ID: id}
	resp.Error.Code, resp.Error.Message = code, msg
	data, _ := json.Marshal(resp)
	return data
}

// idKey is the key of a request id in pending: its JSON form.
func idKey(id jsonrpc.ID) string {
	b, _ := json.Marshal(id.Raw())
	return string(b)
}

// countWriter writes the SDK's messages, and lineReader's answers, whole
// lines at a time, and marks the requests answered.
type countWriter struct {
	mu  sync.Mutex
	w   io.Writer
	p   *pending
	buf []byte
}

func (c *countWriter) Write(b []byte) (int, error) { return c.write(b, true) }

func (c *countWriter) write(b []byte, track bool) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.w.Write(b)
	if !track {
		return n, err
	}
	c.buf = append(c.buf, b[:n]...)
	c.p.mu.Lock()
	for {
		i := bytes.IndexByte(c.buf, '\n')
		if i < 0 {
			break
		}
		line := c.buf[:i]
		c.buf = c.buf[i+1:]
		type msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		var batch []msg
		if len(line) > 0 && line[0] == '[' {
			json.Unmarshal(line, &batch)
		} else {
			var m msg
			if json.Unmarshal(line, &m) == nil {
				batch = []msg{m}
			}
		}
		for _, m := range batch {
			if m.Method == "" && len(m.ID) > 0 { // a response
				delete(c.p.ids, compact(m.ID))
			}
		}
	}
	c.p.mu.Unlock()
	c.p.cond.Broadcast()
	return n, err
}

// compact is the JSON form of an id as idKey writes it.
func compact(raw json.RawMessage) string {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Close does not close the output: it is the process's.
func (c *countWriter) Close() error { return nil }
