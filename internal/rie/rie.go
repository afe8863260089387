// Package rie runs a built Lambda bootstrap under the AWS Lambda Runtime
// Interface Emulator (aws-lambda-rie) on 127.0.0.1, so tests and the local
// runner exercise the real binary: its init, its environment and the JSON
// that crosses the Runtime API. Route turns HTTP requests into payload 2.0
// events and back, as API Gateway does in front of the function.
//
// One emulator runs one function. The emulator crashes on concurrent
// invokes (aws-lambda-rie v0.0.0-20261030222936-bef5c4ba774d), so Invoke
// sends one at a time.
package rie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// invokePath is where the emulator accepts invocations. The function name
// in it is fixed, whatever AWS_LAMBDA_FUNCTION_NAME is set to.
const invokePath = "/2015-03-31/functions/function/invocations"

// Bounds on waits for the emulator process. A loaded CI machine may take
// seconds to start a process; none of these is reached on a healthy run.
const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
)

// startAttempts covers the window between picking two free ports and the
// emulator binding them, in which another process may take one.
const startAttempts = 3

// Options configure Start.
type Options struct {
	// Emulator is the path of the aws-lambda-rie binary (see BuildEmulator).
	Emulator string

	// Bootstrap is the path of the function's built bootstrap.
	Bootstrap string

	// FunctionName is set as AWS_LAMBDA_FUNCTION_NAME, so the function
	// detects that it runs in Lambda.
	FunctionName string

	// Env is the function's environment as NAME=value entries. The emulator
	// gets only these and the variables below, never this process's
	// environment, and passes all of them to the function.
	Env []string

	// Timeout is the function timeout, whole seconds (300 s if zero).
	Timeout time.Duration

	// MemoryMB is reported as the function's memory size (128 if zero).
	MemoryMB int

	// Output, if set, also receives the emulator's and the function's log
	// lines as they arrive.
	Output io.Writer
}

// Emulator is one running aws-lambda-rie process with one function.
type Emulator struct {
	name      string
	invokeURL string
	client    *http.Client

	cmd    *exec.Cmd
	exited chan struct{}
	logs   *logBuffer

	invokeMu sync.Mutex // the emulator handles one invoke at a time
	stopOnce sync.Once
}

// Start starts the emulator with the function and waits until it accepts
// invocations. The function itself starts on the first Invoke, as in Lambda,
// so a bad configuration shows up there and in Logs.
func Start(opts Options) (*Emulator, error) {
	if opts.Emulator == "" || opts.Bootstrap == "" || opts.FunctionName == "" {
		return nil, errors.New("rie: Options need Emulator, Bootstrap and FunctionName")
	}

	var errs []error
	for range startAttempts {
		e, err := start(opts)
		if err == nil {
			return e, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("rie: start %s: %w", opts.FunctionName, errors.Join(errs...))
}

func start(opts Options) (*Emulator, error) {
	invokeAddr, err := freeAddress()
	if err != nil {
		return nil, err
	}
	runtimeAddr, err := freeAddress()
	if err != nil {
		return nil, err
	}

	logs := &logBuffer{}
	cmd := exec.Command(opts.Emulator,
		"--log-level", "info",
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", runtimeAddr,
		opts.Bootstrap,
	)
	cmd.Env = environment(opts)
	cmd.Stdout = logs.writer(opts.Output)
	cmd.Stderr = cmd.Stdout
	// A process group lets Close reach the bootstrap the emulator forks, and
	// the parent-death signal ends the emulator if this process dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", opts.Emulator, err)
	}
	e := &Emulator{
		name:      opts.FunctionName,
		invokeURL: "http://" + invokeAddr + invokePath,
		client:    &http.Client{},
		cmd:       cmd,
		exited:    make(chan struct{}),
		logs:      logs,
	}
	go func() {
		_ = cmd.Wait()
		close(e.exited)
	}()

	if err := e.waitReady(invokeAddr, runtimeAddr); err != nil {
		e.Close()
		return nil, fmt.Errorf("%w; output:\n%s", err, logs.String())
	}
	return e, nil
}

// environment returns the emulator's environment. The instance metadata
// service is switched off because a local run must never reach 169.254.x,
// and the SDK would try it when no other credentials are set.
func environment(opts Options) []string {
	timeout := int(opts.Timeout / time.Second)
	if timeout <= 0 {
		timeout = 300
	}
	memory := opts.MemoryMB
	if memory <= 0 {
		memory = 128
	}

	env := []string{"AWS_EC2_METADATA_DISABLED=true"}
	env = append(env, opts.Env...)
	return append(env,
		"AWS_LAMBDA_FUNCTION_NAME="+opts.FunctionName,
		"AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(timeout),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(memory),
	)
}

// waitReady polls both addresses: the emulator serves invocations on one
// and the Runtime API for the bootstrap on the other.
func (e *Emulator) waitReady(addresses ...string) error {
	deadline := time.Now().Add(readyTimeout)
	for _, addr := range addresses {
		for {
			select {
			case <-e.exited:
				return errors.New("emulator exited before it accepted connections")
			default:
			}

			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				conn.Close()
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("emulator not listening on %s after %s", addr, readyTimeout)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// Name returns the function name the emulator runs.
func (e *Emulator) Name() string { return e.name }

// Invoke sends one invocation and returns the function's response payload.
// Concurrent calls wait for each other. An init failure, a crash or a
// timeout is an *InvokeError carrying the emulator's status and body.
func (e *Emulator) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	e.invokeMu.Lock()
	defer e.invokeMu.Unlock()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.invokeURL, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("rie: invoke %s: %w", e.name, err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("rie: invoke %s: %w", e.name, err)
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("rie: invoke %s: read response: %w", e.name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &InvokeError{Function: e.name, Status: resp.StatusCode, Body: string(body)}
	}
	return body, nil
}

// InvokeError is an invocation that the emulator returned with a status
// other than 200, such as 502 when the function's init or invoke failed.
type InvokeError struct {
	Function string
	Status   int
	Body     string
}

func (e *InvokeError) Error() string {
	return fmt.Sprintf("rie: invoke %s: emulator returned HTTP %d: %s", e.Function, e.Status, strings.TrimSpace(e.Body))
}

// Logs returns everything the emulator and the function wrote so far.
func (e *Emulator) Logs() string { return e.logs.String() }

// WaitForLog waits until the logs contain substr, the emulator exits or ctx
// ends. The function's output reaches the emulator through a pipe, so it
// can arrive just after the invoke response.
func (e *Emulator) WaitForLog(ctx context.Context, substr string) error {
	for {
		if strings.Contains(e.logs.String(), substr) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rie: %s logs have no %q: %w", e.name, substr, ctx.Err())
		case <-e.exited:
			if strings.Contains(e.logs.String(), substr) {
				return nil
			}
			return fmt.Errorf("rie: %s exited and its logs have no %q", e.name, substr)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// initReport matches the emulator's line for the end of a function init.
var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// InitDuration returns the duration of the function's first init, as the
// emulator reports it in its INIT REPORT line. ok is false before the first
// invoke. After a failed init the emulator starts a second one on the next
// invoke; only the first is returned.
func (e *Emulator) InitDuration() (d time.Duration, ok bool) {
	m := initReport.FindStringSubmatch(e.logs.String())
	if m == nil {
		return 0, false
	}
	ms, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// Close stops the emulator and the function, and waits for them to exit.
func (e *Emulator) Close() {
	e.stopOnce.Do(func() {
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(stopTimeout):
			_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
			<-e.exited
		}
	})
}

// freeAddress returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddress() (string, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer listener.Close()
	return listener.Addr().String(), nil
}

// logBuffer keeps all output up to maxLogBytes, then only the newest part.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// maxLogBytes bounds what one emulator keeps; a full login writes a few KB.
const maxLogBytes = 4 << 20

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	b.buf.Write(p)
	if extra := b.buf.Len() - maxLogBytes; extra > 0 {
		b.buf.Next(extra)
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// writer returns where the process output goes: the buffer and, if set, out.
func (b *logBuffer) writer(out io.Writer) io.Writer {
	if out == nil {
		return b
	}
	return io.MultiWriter(b, out)
}
