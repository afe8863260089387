package reliability_test

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// Sizes of the concurrency tests. RELIABILITY_LOGINS and
// RELIABILITY_ROUNDS override them, so make bench can run larger ones.
const (
	defaultLogins  = 1000
	loginClients   = 50
	defaultRounds  = 100
	racersPerRound = 8
)

func TestConcurrentLoginsAllStored(t *testing.T) {
	s := startStack(t, testservers.Moto(t), nil)
	logins := envInt(t, "RELIABILITY_LOGINS", defaultLogins)

	// each client logs in one visitor after another, as a browser would
	jobs := make(chan int)
	results := make(chan *login, logins)
	errs := make(chan error, logins)
	var wg sync.WaitGroup
	for range loginClients {
		wg.Go(func() {
			for range jobs {
				l, err := s.start(context.Background())
				if err != nil {
					errs <- err
					continue
				}
				s.finish(l)
				results <- l
			}
		})
	}
	for i := range logins {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(results)
	close(errs)

	for err := range errs {
		t.Errorf("login did not reach the callback: %v", err)
	}

	// every login must end with its own session, stored and readable
	sessions := map[string]bool{}
	for l := range results {
		if !loginOK(l.callback) {
			t.Errorf("callback returned %d %s, want 303 to the return URL with a session cookie", l.callback.StatusCode, l.callback.Headers["Location"])
			continue
		}
		if sessions[l.sessionID] {
			t.Errorf("two logins got the same session id")
		}
		sessions[l.sessionID] = true
	}
	if len(sessions) != logins {
		t.Errorf("got %d sessions from %d logins, want one each", len(sessions), logins)
	}

	st := store.New(s.direct, s.cfg.TableName)
	lost := 0
	for id := range sessions {
		if _, err := st.GetSession(context.Background(), store.Key(id), time.Now()); err != nil {
			lost++
		}
	}
	if lost != 0 {
		t.Errorf("%d of %d sessions a visitor received are not in the table", lost, len(sessions))
	}

	// nothing else is left: every state was consumed, no stray session
	records := s.records(t)
	if n := len(records["state"]); n != 0 {
		t.Errorf("%d states left in the table after every login finished, want 0", n)
	}
	if n := s.checkSessionsHoldTokens(t); n != logins {
		t.Errorf("table holds %d sessions, want %d", n, logins)
	}
}

func envInt(t *testing.T, name string, fallback int) int {
	t.Helper()
	raw := os.Getenv(name)
	if raw == "" {
		return fallback
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive whole number", name, raw)
	}
	return n
}

// TestConcurrentCallbacksOneWinner replays one callback URL from several
// clients at once, as a double click, a prefetch or a replayed redirect
// would: the state is consumed by exactly one request, which alone logs in.
func TestConcurrentCallbacksOneWinner(t *testing.T) {
	s := startStack(t, testservers.Moto(t), nil)
	rounds := envInt(t, "RELIABILITY_ROUNDS", defaultRounds)

	for round := range rounds {
		l, err := s.start(context.Background())
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}

		// release every racer at once
		responses := make([]events.APIGatewayV2HTTPResponse, racersPerRound)
		ready := make(chan struct{})
		var wg sync.WaitGroup
		for i := range responses {
			wg.Go(func() {
				<-ready
				responses[i] = s.invoke(s.handler.Callback, http.MethodGet, l.callbackURL, []string{l.stateCookie}, nil)
			})
		}
		close(ready)
		wg.Wait()

		winners, losers := 0, 0
		for _, resp := range responses {
			switch {
			case loginOK(resp):
				winners++
			case resp.StatusCode == http.StatusBadRequest && sessionCookie(resp) == "":
				losers++
			default:
				t.Errorf("round %d: callback returned %d %q, want 303 with a session or 400 state_used_or_expired", round, resp.StatusCode, resp.Headers["Location"])
			}
		}
		if winners != 1 {
			t.Errorf("round %d: %d of %d concurrent callbacks logged in, want exactly 1", round, winners, racersPerRound)
		}
		if losers != racersPerRound-1 {
			t.Errorf("round %d: %d callbacks were rejected as used, want %d", round, losers, racersPerRound-1)
		}
	}

	// one session per round, and the provider exchanged one code per round
	if n := s.checkSessionsHoldTokens(t); n != rounds {
		t.Errorf("table holds %d sessions after %d rounds, want %d", n, rounds, rounds)
	}
	if got := s.sandbox.Stats().TokenRequests; got != rounds {
		t.Errorf("provider got %d token requests in %d rounds, want %d: a losing callback reached the exchange", got, rounds, rounds)
	}
}
