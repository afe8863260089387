package testservers

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// readyTimeout bounds the wait for a server to accept requests. Both moto and
// dynalite are ready within a few seconds on an idle machine; the margin is
// for a loaded CI machine.
const readyTimeout = 60 * time.Second

// startAttempts covers the window between picking a free port and the server
// binding it, in which another process may take the port.
const startAttempts = 3

// process is one external server, started at most once per test binary.
type process struct {
	name string

	once     sync.Once
	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	stopped  bool
	endpoint string
	err      error
}

var (
	moto     = &process{name: "moto_server"}
	dynalite = &process{name: "dynalite"}
)

// commandFunc builds the command that serves on the given port of 127.0.0.1.
type commandFunc func(port int) *exec.Cmd

// ensure starts the server on first use and returns its endpoint URL.
func (p *process) ensure(command commandFunc) (string, error) {
	if p.isStopped() {
		return "", fmt.Errorf("%s was already stopped by StopAll", p.name)
	}

	p.once.Do(func() {
		p.endpoint, p.err = p.start(command)
	})

	if p.isStopped() {
		return "", fmt.Errorf("%s was already stopped by StopAll", p.name)
	}

	return p.endpoint, p.err
}

func (p *process) isStopped() bool {
	p.mu.Lock()
	defer p.mu.Unlock()

	return p.stopped
}

func (p *process) start(command commandFunc) (string, error) {
	var errs []error

	for range startAttempts {
		endpoint, err := p.startOnce(command)
		if err == nil {
			return endpoint, nil
		}

		errs = append(errs, err)
	}

	return "", errors.Join(errs...)
}

func (p *process) startOnce(command commandFunc) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}

	cmd := command(port)
	output := &tailBuffer{max: 4096}
	cmd.Stdout = output
	cmd.Stderr = output

	// A process group lets stop reach any child the command forks, and the
	// parent-death signal ends the server if the test binary dies first.
	// NOTE: Linux sends the parent-death signal when the OS thread that
	// started the child exits, which the Go runtime does only for threads
	// locked by a goroutine that ended, so in practice it is process exit.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", p.name, err)
	}

	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()

	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)

	if err := waitReady(endpoint, exited); err != nil {
		killGroup(cmd)
		<-exited

		return "", fmt.Errorf("%s on port %d: %w; output: %s", p.name, port, err, output.String())
	}

	p.mu.Lock()
	p.cmd = cmd
	p.exited = exited
	p.mu.Unlock()

	return endpoint, nil
}

// stop ends the server by its process group and waits for it to exit.
func (p *process) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.stopped = true

	if p.cmd == nil {
		return
	}

	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)

	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		killGroup(p.cmd)
		<-p.exited
	}

	p.cmd = nil
}

func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// waitReady polls endpoint until it returns any HTTP response.
func waitReady(endpoint string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)

	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("exited before it accepted requests")
		default:
		}

		resp, err := client.Get(endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}

		time.Sleep(50 * time.Millisecond)
	}

	return fmt.Errorf("not ready after %s", readyTimeout)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer listener.Close()

	return listener.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *tailBuffer) Write(data []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	b.buf.Write(data)

	if extra := b.buf.Len() - b.max; extra > 0 {
		b.buf.Next(extra)
	}

	return len(data), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.String()
}
