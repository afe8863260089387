package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// readyTimeout bounds the wait for the server's first response. It starts in
// well under a second on an idle machine.
const readyTimeout = 60 * time.Second

// server is the local runner in a child process.
type server struct {
	port    int
	baseURL string // as the server names itself: http://localhost:<port>
	cmd     *exec.Cmd
	exited  chan struct{}
	logDone chan struct{} // closed when the server's log is read to its end
	lines   atomic.Int64  // "request" log lines the server wrote
}

// startServer builds cmd/dev and starts it on a free port of 127.0.0.1.
func startServer(dir, dynamodbEndpoint string) (*server, error) {
	binary, err := filepath.Abs(filepath.Join(dir, "dev"))
	if err != nil {
		return nil, err
	}
	build := exec.Command("go", "build", "-trimpath", "-o", binary, "./cmd/dev")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/dev: %w\n%s", err, out)
	}

	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &server{port: port, baseURL: "http://localhost:" + strconv.Itoa(port), exited: make(chan struct{}), logDone: make(chan struct{})}

	// only what the server needs, so no AWS setting of this machine applies
	s.cmd = exec.Command(binary)
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "PORT=" + strconv.Itoa(port)}
	if dynamodbEndpoint != "" {
		s.cmd.Env = append(s.cmd.Env, "DYNAMODB_ENDPOINT="+dynamodbEndpoint)
	}
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	s.cmd.Stderr = &stderr

	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	go s.countLines(stdout)
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()

	if err := s.waitReady(); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w; server output:\n%s", err, stderr.String())
	}
	return s, nil
}

// countLines reads the server's JSON log and counts the request lines, so
// the run can check one line per request.
func (s *server) countLines(stdout io.Reader) {
	defer close(s.logDone)
	scanner := bufio.NewScanner(stdout)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		if bytes.Contains(scanner.Bytes(), []byte(`"msg":"request"`)) {
			s.lines.Add(1)
		}
	}
}

// requestLines stops the server and returns how many request lines it
// logged, once its log is read to the end.
func (s *server) requestLines() int64 {
	s.stop()
	<-s.logDone
	return s.lines.Load()
}

func (s *server) waitReady() error {
	client := newHTTPClient(s.port, nil)
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return errors.New("the server exited before its first response")
		default:
		}
		resp, err := client.Get(s.baseURL + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the server sent no response within %s", readyTimeout)
}

// stop ends the server by its process group and waits for it. Calling it
// again does nothing.
func (s *server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

// newHTTPClient returns a client that reaches the server on 127.0.0.1
// whatever host name a URL carries, and follows no redirect. transport may
// be nil for a new one.
func newHTTPClient(port int, transport *http.Transport) *http.Client {
	if transport == nil {
		transport = newTransport(port, 2)
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func newTransport(port, conns int) *http.Transport {
	address := "127.0.0.1:" + strconv.Itoa(port)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, address)
		},
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     30 * time.Second,
	}
}

func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}
