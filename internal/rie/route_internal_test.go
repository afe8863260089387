package rie

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// fakeEmulator returns an emulator whose invocations all get status and
// body, and the event of the last invocation.
func fakeEmulator(t *testing.T, status int, body string) (*Emulator, *events.APIGatewayV2HTTPRequest) {
	t.Helper()

	received := &events.APIGatewayV2HTTPRequest{}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != invokePath {
			t.Errorf("invoke path %s, want %s", r.URL.Path, invokePath)
		}
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, received); err != nil {
			t.Errorf("invoke payload is not an event: %v", err)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(server.Close)

	return &Emulator{name: "fake", invokeURL: server.URL + invokePath, client: server.Client()}, received
}

func serveRoute(e *Emulator, req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.Route("POST /session", "$default", slog.New(slog.DiscardHandler)).ServeHTTP(w, req)
	return w
}

func TestRouteTranslatesBothWays(t *testing.T) {
	response := `{"statusCode":201,"headers":{"Content-Type":"text/plain"},"cookies":["a=1; Path=/","b=2; Path=/"],"body":"aGVsbG8=","isBase64Encoded":true}`
	e, received := fakeEmulator(t, http.StatusOK, response)

	req := httptest.NewRequest(http.MethodPost, "http://api.example.com/session?x=1&x=2", strings.NewReader("\xff\xfe"))
	req.Header.Add("Cookie", "c=3; d=4")
	w := serveRoute(e, req)

	// request to event
	if received.RouteKey != "POST /session" || received.RawQueryString != "x=1&x=2" {
		t.Errorf("event route %q, query %q, want POST /session and x=1&x=2", received.RouteKey, received.RawQueryString)
	}
	if strings.Join(received.Cookies, ";") != "c=3;d=4" {
		t.Errorf("event cookies %q, want [c=3 d=4]", received.Cookies)
	}
	if !received.IsBase64Encoded || received.Body != "//4=" {
		t.Errorf("event body %q (base64 %v), want the binary body base64-encoded", received.Body, received.IsBase64Encoded)
	}

	// response to HTTP
	if w.Code != http.StatusCreated || w.Body.String() != "hello" {
		t.Errorf("HTTP %d %q, want 201 with the decoded body hello", w.Code, w.Body.String())
	}
	if got := w.Result().Header.Values("Set-Cookie"); len(got) != 2 {
		t.Errorf("Set-Cookie headers %q, want one per cookie", got)
	}
}

func TestRouteFunctionErrorIs500(t *testing.T) {
	e, _ := fakeEmulator(t, http.StatusOK, `{"errorMessage":"boom","errorType":"errorString"}`)

	w := serveRoute(e, httptest.NewRequest(http.MethodPost, "/session", nil))
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "Internal Server Error") {
		t.Errorf("HTTP %d %q, want API Gateway's 500 Internal Server Error", w.Code, w.Body.String())
	}
}

func TestRouteInitFailureIs500(t *testing.T) {
	e, _ := fakeEmulator(t, http.StatusBadGateway, `{"errorType":"Runtime.ExitError"}`)

	w := serveRoute(e, httptest.NewRequest(http.MethodPost, "/session", nil))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("HTTP %d, want 500 when the function cannot start", w.Code)
	}
}

func TestDecodeResponse(t *testing.T) {
	t.Run("object without statusCode is a JSON body", func(t *testing.T) {
		resp, err := decodeResponse("f", []byte(`{"hello":"world"}`))
		if err != nil || resp.StatusCode != http.StatusOK || resp.Body != `{"hello":"world"}` || resp.Headers["Content-Type"] != "application/json" {
			t.Errorf("decodeResponse = %+v, %v; want 200 with the object as a JSON body", resp, err)
		}
	})

	t.Run("error object is a FunctionError", func(t *testing.T) {
		_, err := decodeResponse("f", []byte(`{"errorMessage":"boom","errorType":"errorString"}`))
		var fnErr *FunctionError
		if !errors.As(err, &fnErr) || fnErr.Message != "boom" || fnErr.Type != "errorString" {
			t.Errorf("err = %v, want a FunctionError with the message and type", err)
		}
	})

	t.Run("non-object is an error", func(t *testing.T) {
		if _, err := decodeResponse("f", []byte(`"text"`)); err == nil {
			t.Errorf("decodeResponse of a JSON string: err = nil, want an error")
		}
	})
}
