package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/server"
)

// served is a hive served by Serve on a real listener, as hive serve
// does (with the per-address connection cap).
type served struct {
	dir  string
	addr string
	url  string
}

func serveReal(t *testing.T, opts server.Options) *served {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := fixtureHive(t, fixtures.Spec{Instances: 1, Traces: 2})
	srv, err := server.New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, "", "") }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})
	return &served{dir: dir, addr: ln.Addr().String(), url: "http://" + ln.Addr().String()}
}

func metric(t *testing.T, url, name string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == name {
			return f[1]
		}
	}
	return ""
}

// TestConnsPerAddr: one address may hold only so many connections; the
// next gets a 503 and is closed, and a freed place can be taken again.
func TestConnsPerAddr(t *testing.T) {
	h := serveReal(t, server.Options{HiveBinary: "/bin/false", Limits: server.Limits{ConnsPerAddr: 2}})
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	get := func() (int, error) {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := get(); code != http.StatusServiceUnavailable {
		t.Errorf("a third connection from one address = %d, %v; want 503", code, err)
	}
	held[0].Close()
	var code int
	for range 50 { // the server sees the close soon
		if code, _ = get(); code == http.StatusOK {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code != http.StatusOK {
		t.Errorf("after a connection closed, a new one = %d, want 200", code)
	}
	held[1].Close()
	var got string
	for range 50 { // the /metrics request itself may be refused until the closes are seen
		if got = metric(t, h.url, "hive_connections_refused_total"); got != "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got == "" || got == "0" {
		t.Errorf("hive_connections_refused_total = %q, want at least 1", got)
	}
}
