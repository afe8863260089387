package sandbox_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

func TestDelayEndsWhenClientCancels(t *testing.T) {
	tests := []struct {
		name   string
		faults sandbox.Faults
		method string
		path   string
		body   io.Reader
	}{
		{"token", sandbox.Faults{TokenDelay: time.Hour}, http.MethodPost, sandbox.TokenPath,
			strings.NewReader(tokenForm("any", nil).Encode())},
		{"account", sandbox.Faults{AccountDelay: time.Hour}, http.MethodGet, sandbox.AccountPath, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			provider := sandbox.New(sandbox.Options{
				ClientID:     testClientID,
				ClientSecret: testClientSecret,
				RedirectURIs: []string{testRedirectURI},
				Faults:       tt.faults,
			})
			handlerDone := make(chan struct{})
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(handlerDone)
				provider.ServeHTTP(w, r)
			}))
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, tt.method, server.URL+tt.path, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")

			_, err = server.Client().Do(req)

			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error = %v, want the client's deadline", err)
			}
			select {
			case <-handlerDone:
				server.Close()
			case <-time.After(10 * time.Second):
				// Closing the server would wait for the handler, so it is left running.
				t.Fatal("the handler still waits 10 s after the client canceled")
			}
		})
	}
}

func TestSetFaultsAppliesToLaterRequests(t *testing.T) {
	f := newFixture(t, nil)
	token := f.exchange(t, f.approve(t, nil))

	f.provider.SetFaults(sandbox.Faults{AccountStatus: http.StatusServiceUnavailable})
	faulted := f.accountStatus(t, token)
	f.provider.SetFaults(sandbox.Faults{})
	restored := f.accountStatus(t, token)

	if faulted != http.StatusServiceUnavailable {
		t.Errorf("status with the fault = %d, want 503", faulted)
	}
	if restored != http.StatusOK {
		t.Errorf("status after clearing the fault = %d, want 200", restored)
	}
	if got := f.provider.Faults(); got != (sandbox.Faults{}) {
		t.Errorf("Faults() = %+v, want none", got)
	}
}
