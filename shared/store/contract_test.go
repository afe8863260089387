package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// The handlers call these exact signatures, so a change must be a deliberate
// edit here and not a surprise at the call sites.
var _ interface {
	EnsureTable(context.Context) error
	PutState(context.Context, store.State) error
	ConsumeState(context.Context, string, time.Time) (store.State, error)
	PutSession(context.Context, store.Session) error
	GetSession(context.Context, string, time.Time) (store.Session, error)
	TouchSession(context.Context, string, time.Time, time.Time) error
	DeleteSession(context.Context, string) error
	PutHandoff(context.Context, store.Handoff) error
	ConsumeHandoff(context.Context, string, time.Time) (store.Handoff, error)
} = (*store.Store)(nil)

func TestMain(m *testing.M) { testservers.Main(m) }

// backend is one DynamoDB implementation the contract runs against.
type backend struct {
	name  string
	start func(testing.TB) string

	// rounds is the round count of the concurrent consume tests, lower for
	// moto because each request there takes a few milliseconds.
	rounds int

	// ttl reports whether the backend supports DescribeTimeToLive.
	ttl bool
}

var backends = []backend{
	{name: "minidyn", start: testservers.Embedded, rounds: 100},
	{name: "moto", start: testservers.Moto, rounds: 50, ttl: true},
	{name: "dynalite", start: testservers.Dynalite, rounds: 100},
}

// env is one fresh table on one backend.
type env struct {
	backend backend
	store   *store.Store
	db      *dynamodb.Client
	table   string
}

var tableCount atomic.Int64

func newEnv(t *testing.T, b backend) env {
	t.Helper()

	db := dynamodb.NewFromConfig(testservers.Config(b.start(t)))
	table := fmt.Sprintf("contract-%d", tableCount.Add(1))
	s := store.New(db, table)

	if err := s.EnsureTable(context.Background()); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}

	return env{backend: b, store: s, db: db, table: table}
}

func TestStoreContract(t *testing.T) {
	cases := []struct {
		name string
		run  func(*testing.T, env)
	}{
		{"EnsureTableTwice", testEnsureTableTwice},
		{"EnsureTableWrongKey", testEnsureTableWrongKey},
		{"StateRoundTrip", testStateRoundTrip},
		{"StateConsumedOnce", testStateConsumedOnce},
		{"StateExpiredRejected", testStateExpiredRejected},
		{"StateExpiryBoundary", testStateExpiryBoundary},
		{"StatePutTwice", testStatePutTwice},
		{"StateConcurrentConsume", testStateConcurrentConsume},
		{"StateMissingFields", testStateMissingFields},
		{"SessionRoundTrip", testSessionRoundTrip},
		{"SessionAbsoluteExpiry", testSessionAbsoluteExpiry},
		{"SessionIdleExpiry", testSessionIdleExpiry},
		{"SessionPutTwice", testSessionPutTwice},
		{"SessionTouch", testSessionTouch},
		{"SessionTouchMissing", testSessionTouchMissing},
		{"SessionTouchExpired", testSessionTouchExpired},
		{"SessionTouchAfterDelete", testSessionTouchAfterDelete},
		{"SessionDeleteTwice", testSessionDeleteTwice},
		{"HandoffRoundTrip", testHandoffRoundTrip},
		{"HandoffExpiredRejected", testHandoffExpiredRejected},
		{"HandoffPutTwice", testHandoffPutTwice},
		{"HandoffConcurrentConsume", testHandoffConcurrentConsume},
		{"KindsDoNotCollide", testKindsDoNotCollide},
		{"StoredAttributes", testStoredAttributes},
	}

	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					c.run(t, newEnv(t, b))
				})
			}
		})
	}
}

// now is a base time with whole milliseconds, the precision the store keeps.
func now() time.Time {
	return time.Now().UTC().Truncate(time.Millisecond)
}

var secretCount atomic.Int64

// newHash returns the key of a fresh secret, as the handlers compute it.
func newHash() string {
	return store.Key(fmt.Sprintf("secret-%d-%d", time.Now().UnixNano(), secretCount.Add(1)))
}

func newState(base time.Time, ttl time.Duration) store.State {
	return store.State{
		Hash:         newHash(),
		ReturnTo:     "https://docs.example.com/page?x=1",
		Origin:       "https://docs.example.com",
		PKCEVerifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
		CreatedAt:    base,
		ExpiresAt:    base.Add(ttl),
	}
}

func newSession(base time.Time) store.Session {
	return store.Session{
		Hash:          newHash(),
		Sealed:        []byte{0x00, 0x01, 0xfe, 0xff, 'x'},
		CreatedAt:     base,
		LastSeenAt:    base,
		ExpiresAt:     base.Add(8 * time.Hour),
		IdleExpiresAt: base.Add(30 * time.Minute),
	}
}

func newHandoff(base time.Time, ttl time.Duration) store.Handoff {
	return store.Handoff{
		Hash:      newHash(),
		Origin:    "https://docs.example.com",
		Sealed:    []byte("sealed session id"),
		CreatedAt: base,
		ExpiresAt: base.Add(ttl),
	}
}

func testEnsureTableTwice(t *testing.T, e env) {
	ctx := context.Background()

	if err := e.store.EnsureTable(ctx); err != nil {
		t.Fatalf("second EnsureTable: %v", err)
	}

	if err := e.store.PutState(ctx, newState(now(), time.Minute)); err != nil {
		t.Errorf("PutState after second EnsureTable: %v", err)
	}

	if !e.backend.ttl {
		return
	}

	out, err := e.db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(e.table)})
	if err != nil {
		t.Fatalf("DescribeTimeToLive: %v", err)
	}

	if got := aws.ToString(out.TimeToLiveDescription.AttributeName); got != store.AttrExpiresAt {
		t.Errorf("TTL attribute = %q, want %q", got, store.AttrExpiresAt)
	}

	if got := out.TimeToLiveDescription.TimeToLiveStatus; got != types.TimeToLiveStatusEnabled {
		t.Errorf("TTL status = %q, want ENABLED", got)
	}
}

func testEnsureTableWrongKey(t *testing.T, e env) {
	ctx := context.Background()
	table := e.table + "-other"

	_, err := e.db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}

	err = store.New(e.db, table).EnsureTable(ctx)
	if err == nil || !strings.Contains(err.Error(), "key schema") {
		t.Errorf("EnsureTable on a table keyed by id: err = %v, want a key schema error", err)
	}
}

func testStateRoundTrip(t *testing.T, e env) {
	ctx := context.Background()
	base := now()
	want := newState(base, 10*time.Minute)

	if err := e.store.PutState(ctx, want); err != nil {
		t.Fatalf("PutState: %v", err)
	}

	got, err := e.store.ConsumeState(ctx, want.Hash, base.Add(time.Minute))
	if err != nil {
		t.Fatalf("ConsumeState: %v", err)
	}

	if got.Hash != want.Hash {
		t.Errorf("Hash = %q, want %q", got.Hash, want.Hash)
	}

	if got.ReturnTo != want.ReturnTo {
		t.Errorf("ReturnTo = %q, want %q", got.ReturnTo, want.ReturnTo)
	}

	if got.Origin != want.Origin {
		t.Errorf("Origin = %q, want %q", got.Origin, want.Origin)
	}

	if got.PKCEVerifier != want.PKCEVerifier {
		t.Errorf("PKCEVerifier = %q, want %q", got.PKCEVerifier, want.PKCEVerifier)
	}

	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want.CreatedAt)
	}

	if !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("ExpiresAt = %v, want %v", got.ExpiresAt, want.ExpiresAt)
	}
}

func testStateConsumedOnce(t *testing.T, e env) {
	ctx := context.Background()
	base := now()
	state := newState(base, 10*time.Minute)

	if err := e.store.PutState(ctx, state); err != nil {
		t.Fatalf("PutState: %v", err)
	}

	if _, err := e.store.ConsumeState(ctx, state.Hash, base); err != nil {
		t.Fatalf("first ConsumeState: %v", err)
	}

	_, err := e.store.ConsumeState(ctx, state.Hash, base)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second ConsumeState: err = %v, want ErrNotFound", err)
	}

	_, err = e.store.ConsumeState(ctx, newHash(), base)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeState of an unknown hash: err = %v, want ErrNotFound", err)
	}
}

// testStateExpiredRejected covers a record that TTL has not deleted yet:
// the consume must fail and remove it.
func testStateExpiredRejected(t *testing.T, e env) {
	ctx := context.Background()
	base := now()
	state := newState(base.Add(-12*time.Minute), 10*time.Minute)

	if err := e.store.PutState(ctx, state); err != nil {
		t.Fatalf("PutState: %v", err)
	}

	if !hasItem(t, e, "state#"+state.Hash) {
		t.Fatal("expired state is not in the table before the consume")
	}

	_, err := e.store.ConsumeState(ctx, state.Hash, base)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeState of an expired state: err = %v, want ErrNotFound", err)
	}

	if hasItem(t, e, "state#"+state.Hash) {
		t.Error("expired state is still in the table after the rejected consume")
	}
}

func testStateExpiryBoundary(t *testing.T, e env) {
	ctx := context.Background()
	base := now()
	state := newState(base, 10*time.Minute)

	if err := e.store.PutState(ctx, state); err != nil {
		t.Fatalf("PutState: %v", err)
	}

	_, err := e.store.ConsumeState(ctx, state.Hash, state.ExpiresAt)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeState at ExpiresAt: err = %v, want ErrNotFound", err)
	}

	late := newState(base, 10*time.Minute)
	if err := e.store.PutState(ctx, late); err != nil {
		t.Fatalf("PutState: %v", err)
	}

	if _, err := e.store.ConsumeState(ctx, late.Hash, late.ExpiresAt.Add(-time.Millisecond)); err != nil {
		t.Errorf("ConsumeState 1 ms before ExpiresAt: %v", err)
	}
}

func testStatePutTwice(t *testing.T, e env) {
	ctx := context.Background()
	base := now()
	first := newState(base, 10*time.Minute)

	if err := e.store.PutState(ctx, first); err != nil {
		t.Fatalf("PutState: %v", err)
	}

	second := first
	second.ReturnTo = "https://docs.example.com/other"

	err := e.store.PutState(ctx, second)
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("second PutState: err = %v, want ErrExists", err)
	}

	got, err := e.store.ConsumeState(ctx, first.Hash, base)
	if err != nil {
		t.Fatalf("ConsumeState: %v", err)
	}

	if got.ReturnTo != first.ReturnTo {
		t.Errorf("ReturnTo = %q, want the first record's %q", got.ReturnTo, first.ReturnTo)
	}
}

// consumers is the number of concurrent callers in each round.
const consumers = 20

func testStateConcurrentConsume(t *testing.T, e env) {
	ctx := context.Background()

	for round := range e.backend.rounds {
		base := now()
		state := newState(base, 10*time.Minute)

		if err := e.store.PutState(ctx, state); err != nil {
			t.Fatalf("round %d: PutState: %v", round, err)
		}

		wins, errs := race(func() error {
			_, err := e.store.ConsumeState(ctx, state.Hash, base)
			return err
		})

		checkOneWinner(t, round, wins, errs)
	}
}

func testStateMissingFields(t *testing.T, e env) {
	ctx := context.Background()

	noHash := newState(now(), time.Minute)
	noHash.Hash = ""

	err := e.store.PutState(ctx, noHash)
	if err == nil || errors.Is(err, store.ErrExists) {
		t.Errorf("PutState without Hash: err = %v, want a validation error", err)
	}

	noExpiry := newState(now(), time.Minute)
	noExpiry.ExpiresAt = time.Time{}

	err = e.store.PutState(ctx, noExpiry)
	if err == nil || errors.Is(err, store.ErrExists) {
		t.Errorf("PutState without ExpiresAt: err = %v, want a validation error", err)
	}

	_, err = e.store.ConsumeState(ctx, "", now())
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeState with an empty hash: err = %v, want ErrNotFound", err)
	}
}

func testSessionRoundTrip(t *testing.T, e env) {
	ctx := context.Background()
	base := now()
	want := newSession(base)

	if err := e.store.PutSession(ctx, want); err != nil {
		t.Fatalf("PutSession: %v", err)
	}

	got, err := e.store.GetSession(ctx, want.Hash, base.Add(time.Minute))
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}

	if got.Hash != want.Hash {
		t.Errorf("Hash = %q, want %q", got.Hash, want.Hash)
	}

	if !bytes.Equal(got.Sealed, want.Sealed) {
		t.Errorf("Sealed = %x, want %x", got.Sealed, want.Sealed)
	}

	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want.CreatedAt)
	}

	if !got.LastSeenAt.Equal(want.LastSeenAt) {
		t.Errorf("LastSeenAt = %v, want %v", got.LastSeenAt, want.LastSeenAt)
	}

	if !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("ExpiresAt = %v, want %v", got.ExpiresAt, want.ExpiresAt)
	}

	if !got.IdleExpiresAt.Equal(want.IdleExpiresAt) {
		t.Errorf("IdleExpiresAt = %v, want %v", got.IdleExpiresAt, want.IdleExpiresAt)
	}

	if _, err := e.store.GetSession(ctx, want.Hash, base.Add(2*time.Minute)); err != nil {
		t.Errorf("second GetSession: %v, want the session again", err)
	}
}

func testSessionAbsoluteExpiry(t *testing.T, e env) {
	ctx := context.Background()
	base := now()
	session := newSession(base.Add(-8 * time.Hour))
	session.IdleExpiresAt = base.Add(10 * time.Minute)
	session.ExpiresAt = base.Add(-2 * time.Minute)

	if err := e.store.PutSession(ctx, session); err != nil {
		t.Fatalf("PutSession: %v", err)
	}

	_, err := e.store.GetSession(ctx, session.Hash, base)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession past ExpiresAt: err = %v, want ErrNotFound", err)
	}

	_, err = e.store.GetSession(ctx, session.Hash, session.ExpiresAt)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession at ExpiresAt: err = %v, want ErrNotFound", err)
	}

	if _, err := e.store.GetSession(ctx, session.Hash, session.ExpiresAt.Add(-time.Millisecond)); err != nil {
		t.Errorf("GetSession 1 ms before ExpiresAt: %v", err)
	}
}

func testSessionIdleExpiry(t *testing.T, e env) {
	ctx := context.Background()
	base := now()
	session := newSession(base.Add(-time.Hour))
	session.IdleExpiresAt = base.Add(-2 * time.Minute)

	if err := e.store.PutSession(ctx, session); err != nil {
		t.Fatalf("PutSession: %v", err)
	}

	_, err := e.store.GetSession(ctx, session.Hash, base)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession past IdleExpiresAt: err = %v, want ErrNotFound", err)
	}

	_, err = e.store.GetSession(ctx, session.Hash, session.IdleExpiresAt)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession at IdleExpiresAt: err = %v, want ErrNotFound", err)
	}
}

func testSessionPutTwice(t *testing.T, e env) {
	ctx := context.Background()
	session := newSession(now())

	if err := e.store.PutSession(ctx, session); err != nil {
		t.Fatalf("PutSession: %v", err)
	}

	err := e.store.PutSession(ctx, session)
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("second PutSession: err = %v, want ErrExists", err)
	}
}

func testSessionTouch(t *testing.T, e env) {
	ctx := context.Background()
	base := now()
	session := newSession(base)

	if err := e.store.PutSession(ctx, session); err != nil {
		t.Fatalf("PutSession: %v", err)
	}

	seen := base.Add(20 * time.Minute)
	idle := seen.Add(30 * time.Minute)

	if err := e.store.TouchSession(ctx, session.Hash, seen, idle); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}

	// After the old idle expiry, before the new one.
	got, err := e.store.GetSession(ctx, session.Hash, base.Add(40*time.Minute))
	if err != nil {
		t.Fatalf("GetSession after the old idle expiry: %v", err)
	}

	if !got.LastSeenAt.Equal(seen) {
		t.Errorf("LastSeenAt = %v, want %v", got.LastSeenAt, seen)
	}

	if !got.IdleExpiresAt.Equal(idle) {
		t.Errorf("IdleExpiresAt = %v, want %v", got.IdleExpiresAt, idle)
	}

	if !got.ExpiresAt.Equal(session.ExpiresAt) {
		t.Errorf("ExpiresAt = %v, want it unchanged at %v", got.ExpiresAt, session.ExpiresAt)
	}

	if !bytes.Equal(got.Sealed, session.Sealed) {
		t.Errorf("Sealed = %x, want it unchanged at %x", got.Sealed, session.Sealed)
	}
}

func testSessionTouchMissing(t *testing.T, e env) {
	ctx := context.Background()
	base := now()
	hash := newHash()

	err := e.store.TouchSession(ctx, hash, base, base.Add(time.Hour))
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TouchSession of a missing session: err = %v, want ErrNotFound", err)
	}

	if hasItem(t, e, "session#"+hash) {
		t.Error("TouchSession created a record for a missing session")
	}
}

func testSessionTouchExpired(t *testing.T, e env) {
	ctx := context.Background()
	base := now()

	idle := newSession(base.Add(-time.Hour))
	idle.IdleExpiresAt = base.Add(-2 * time.Minute)

	absolute := newSession(base.Add(-9 * time.Hour))
	absolute.ExpiresAt = base.Add(-2 * time.Minute)
	absolute.IdleExpiresAt = base.Add(10 * time.Minute)

	for name, session := range map[string]store.Session{"idle": idle, "absolute": absolute} {
		if err := e.store.PutSession(ctx, session); err != nil {
			t.Fatalf("%s: PutSession: %v", name, err)
		}

		err := e.store.TouchSession(ctx, session.Hash, base, base.Add(30*time.Minute))
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: TouchSession of an expired session: err = %v, want ErrNotFound", name, err)
		}

		_, err = e.store.GetSession(ctx, session.Hash, base)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: GetSession after the rejected touch: err = %v, want ErrNotFound", name, err)
		}
	}
}

func testSessionTouchAfterDelete(t *testing.T, e env) {
	ctx := context.Background()
	base := now()
	session := newSession(base)

	if err := e.store.PutSession(ctx, session); err != nil {
		t.Fatalf("PutSession: %v", err)
	}

	if err := e.store.DeleteSession(ctx, session.Hash); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}

	err := e.store.TouchSession(ctx, session.Hash, base, base.Add(time.Hour))
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TouchSession after DeleteSession: err = %v, want ErrNotFound", err)
	}

	if hasItem(t, e, "session#"+session.Hash) {
		t.Error("TouchSession recreated a deleted session")
	}
}

func testSessionDeleteTwice(t *testing.T, e env) {
	ctx := context.Background()
	base := now()
	session := newSession(base)

	if err := e.store.PutSession(ctx, session); err != nil {
		t.Fatalf("PutSession: %v", err)
	}

	if err := e.store.DeleteSession(ctx, session.Hash); err != nil {
		t.Fatalf("first DeleteSession: %v", err)
	}

	if err := e.store.DeleteSession(ctx, session.Hash); err != nil {
		t.Errorf("second DeleteSession: %v, want no error", err)
	}

	_, err := e.store.GetSession(ctx, session.Hash, base)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession after DeleteSession: err = %v, want ErrNotFound", err)
	}
}

func testHandoffRoundTrip(t *testing.T, e env) {
	ctx := context.Background()
	base := now()
	want := newHandoff(base, time.Minute)

	if err := e.store.PutHandoff(ctx, want); err != nil {
		t.Fatalf("PutHandoff: %v", err)
	}

	got, err := e.store.ConsumeHandoff(ctx, want.Hash, base.Add(30*time.Second))
	if err != nil {
		t.Fatalf("ConsumeHandoff: %v", err)
	}

	if got.Hash != want.Hash {
		t.Errorf("Hash = %q, want %q", got.Hash, want.Hash)
	}

	if got.Origin != want.Origin {
		t.Errorf("Origin = %q, want %q", got.Origin, want.Origin)
	}

	if !bytes.Equal(got.Sealed, want.Sealed) {
		t.Errorf("Sealed = %q, want %q", got.Sealed, want.Sealed)
	}

	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want.CreatedAt)
	}

	if !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("ExpiresAt = %v, want %v", got.ExpiresAt, want.ExpiresAt)
	}

	_, err = e.store.ConsumeHandoff(ctx, want.Hash, base)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second ConsumeHandoff: err = %v, want ErrNotFound", err)
	}
}

func testHandoffExpiredRejected(t *testing.T, e env) {
	ctx := context.Background()
	base := now()
	handoff := newHandoff(base.Add(-3*time.Minute), time.Minute)

	if err := e.store.PutHandoff(ctx, handoff); err != nil {
		t.Fatalf("PutHandoff: %v", err)
	}

	_, err := e.store.ConsumeHandoff(ctx, handoff.Hash, base)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeHandoff of an expired handoff: err = %v, want ErrNotFound", err)
	}

	if hasItem(t, e, "handoff#"+handoff.Hash) {
		t.Error("expired handoff is still in the table after the rejected consume")
	}
}

func testHandoffPutTwice(t *testing.T, e env) {
	ctx := context.Background()
	handoff := newHandoff(now(), time.Minute)

	if err := e.store.PutHandoff(ctx, handoff); err != nil {
		t.Fatalf("PutHandoff: %v", err)
	}

	err := e.store.PutHandoff(ctx, handoff)
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("second PutHandoff: err = %v, want ErrExists", err)
	}
}

func testHandoffConcurrentConsume(t *testing.T, e env) {
	ctx := context.Background()

	for round := range e.backend.rounds {
		base := now()
		handoff := newHandoff(base, time.Minute)

		if err := e.store.PutHandoff(ctx, handoff); err != nil {
			t.Fatalf("round %d: PutHandoff: %v", round, err)
		}

		wins, errs := race(func() error {
			_, err := e.store.ConsumeHandoff(ctx, handoff.Hash, base)
			return err
		})

		checkOneWinner(t, round, wins, errs)
	}
}

// testKindsDoNotCollide stores a state, a session and a handoff under one
// hash and checks that each operation reaches only its own kind.
func testKindsDoNotCollide(t *testing.T, e env) {
	ctx := context.Background()
	base := now()
	hash := newHash()

	state := newState(base, 10*time.Minute)
	state.Hash = hash

	session := newSession(base)
	session.Hash = hash

	handoff := newHandoff(base, time.Minute)
	handoff.Hash = hash

	if err := e.store.PutState(ctx, state); err != nil {
		t.Fatalf("PutState: %v", err)
	}

	if err := e.store.PutSession(ctx, session); err != nil {
		t.Fatalf("PutSession with a state's hash: %v", err)
	}

	if err := e.store.PutHandoff(ctx, handoff); err != nil {
		t.Fatalf("PutHandoff with a state's hash: %v", err)
	}

	if _, err := e.store.ConsumeState(ctx, hash, base); err != nil {
		t.Fatalf("ConsumeState: %v", err)
	}

	if _, err := e.store.GetSession(ctx, hash, base); err != nil {
		t.Errorf("GetSession after ConsumeState of the same hash: %v", err)
	}

	if err := e.store.DeleteSession(ctx, hash); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}

	if _, err := e.store.ConsumeHandoff(ctx, hash, base); err != nil {
		t.Errorf("ConsumeHandoff after the state and session are gone: %v", err)
	}
}

// testStoredAttributes reads the raw item to check what the table holds:
// the hash with its kind prefix as key, expires_at in whole seconds for TTL,
// and Sealed as binary.
func testStoredAttributes(t *testing.T, e env) {
	ctx := context.Background()
	base := now().Truncate(time.Second)
	secret := "plain-session-id"
	session := newSession(base)
	session.Hash = store.Key(secret)
	session.IdleExpiresAt = base.Add(30*time.Minute + 1500*time.Millisecond)

	if err := e.store.PutSession(ctx, session); err != nil {
		t.Fatalf("PutSession: %v", err)
	}

	item := getItem(t, e, "session#"+session.Hash)
	if item == nil {
		t.Fatal("no item under session#<hash>")
	}

	ttl, ok := item[store.AttrExpiresAt].(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("%s = %#v, want a number", store.AttrExpiresAt, item[store.AttrExpiresAt])
	}

	// The TTL is the idle expiry, the earlier one, rounded up to a second.
	wantTTL := fmt.Sprint(base.Add(30*time.Minute + 2*time.Second).Unix())
	if ttl.Value != wantTTL {
		t.Errorf("%s = %s, want %s", store.AttrExpiresAt, ttl.Value, wantTTL)
	}

	sealed, ok := item["sealed"].(*types.AttributeValueMemberB)
	if !ok {
		t.Fatalf("sealed = %#v, want binary", item["sealed"])
	}

	if !bytes.Equal(sealed.Value, session.Sealed) {
		t.Errorf("sealed = %x, want %x", sealed.Value, session.Sealed)
	}

	for name, value := range item {
		if s, ok := value.(*types.AttributeValueMemberS); ok && s.Value == secret {
			t.Errorf("attribute %s contains the plain secret", name)
		}
	}
}

// race runs call from consumers goroutines at once and returns the number
// of nil results and the other errors.
func race(call func() error) (int, []error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		wins  int
		errs  []error
		start = make(chan struct{})
	)

	for range consumers {
		wg.Go(func() {
			<-start
			err := call()

			mu.Lock()
			defer mu.Unlock()

			if err == nil {
				wins++
			} else {
				errs = append(errs, err)
			}
		})
	}

	close(start)
	wg.Wait()

	return wins, errs
}

func checkOneWinner(t *testing.T, round, wins int, errs []error) {
	t.Helper()

	if wins != 1 {
		t.Errorf("round %d: %d of %d concurrent consumers succeeded, want exactly 1", round, wins, consumers)
	}

	for _, err := range errs {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("round %d: losing consumer: err = %v, want ErrNotFound", round, err)
		}
	}
}

func getItem(t *testing.T, e env, key string) map[string]types.AttributeValue {
	t.Helper()

	out, err := e.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(e.table),
		Key:            map[string]types.AttributeValue{store.AttrKey: &types.AttributeValueMemberS{Value: key}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}

	if len(out.Item) == 0 {
		return nil
	}

	return out.Item
}

func hasItem(t *testing.T, e env, key string) bool {
	t.Helper()

	return getItem(t, e, key) != nil
}
