package store

import (
	"strings"
	"time"
)

// Attribute names that condition and update expressions use. Times are unix
// milliseconds, so expiry checks in code and in condition expressions are
// exact to the millisecond, while AttrExpiresAt (whole seconds) only drives
// the table's TTL deletion, which can lag by days.
// The struct tags below must use the same names.
const (
	attrValidUntil = "valid_until_ms"
	attrIdleUntil  = "idle_until_ms"
	attrLastSeenAt = "last_seen_at_ms"
)

// stateItem is the stored form of State.
type stateItem struct {
	Key          string `dynamodbav:"pk"`
	TTL          int64  `dynamodbav:"expires_at"`
	CreatedAt    int64  `dynamodbav:"created_at_ms"`
	ValidUntil   int64  `dynamodbav:"valid_until_ms"`
	ReturnTo     string `dynamodbav:"return_to,omitempty"`
	Origin       string `dynamodbav:"origin,omitempty"`
	PKCEVerifier string `dynamodbav:"pkce_verifier,omitempty"`
}

// sessionItem is the stored form of Session. Its TTL starts at the earlier
// of the absolute and the idle expiry, because after either the record is
// useless, and TouchSession moves it to the new idle expiry.
type sessionItem struct {
	Key        string `dynamodbav:"pk"`
	TTL        int64  `dynamodbav:"expires_at"`
	CreatedAt  int64  `dynamodbav:"created_at_ms"`
	LastSeenAt int64  `dynamodbav:"last_seen_at_ms"`
	ValidUntil int64  `dynamodbav:"valid_until_ms"`
	IdleUntil  int64  `dynamodbav:"idle_until_ms"`
	Sealed     []byte `dynamodbav:"sealed,omitempty"`
}

// handoffItem is the stored form of Handoff.
type handoffItem struct {
	Key        string `dynamodbav:"pk"`
	TTL        int64  `dynamodbav:"expires_at"`
	CreatedAt  int64  `dynamodbav:"created_at_ms"`
	ValidUntil int64  `dynamodbav:"valid_until_ms"`
	Origin     string `dynamodbav:"origin,omitempty"`
	Sealed     []byte `dynamodbav:"sealed,omitempty"`
}

func newStateItem(state State) stateItem {
	return stateItem{
		Key:          prefixState + state.Hash,
		TTL:          ttlSeconds(state.ExpiresAt),
		CreatedAt:    state.CreatedAt.UnixMilli(),
		ValidUntil:   state.ExpiresAt.UnixMilli(),
		ReturnTo:     state.ReturnTo,
		Origin:       state.Origin,
		PKCEVerifier: state.PKCEVerifier,
	}
}

func (item stateItem) record() State {
	return State{
		Hash:         strings.TrimPrefix(item.Key, prefixState),
		ReturnTo:     item.ReturnTo,
		Origin:       item.Origin,
		PKCEVerifier: item.PKCEVerifier,
		CreatedAt:    fromMillis(item.CreatedAt),
		ExpiresAt:    fromMillis(item.ValidUntil),
	}
}

func newSessionItem(session Session) sessionItem {
	return sessionItem{
		Key:        prefixSession + session.Hash,
		TTL:        ttlSeconds(earlier(session.ExpiresAt, session.IdleExpiresAt)),
		CreatedAt:  session.CreatedAt.UnixMilli(),
		LastSeenAt: session.LastSeenAt.UnixMilli(),
		ValidUntil: session.ExpiresAt.UnixMilli(),
		IdleUntil:  session.IdleExpiresAt.UnixMilli(),
		Sealed:     session.Sealed,
	}
}

func (item sessionItem) record() Session {
	return Session{
		Hash:          strings.TrimPrefix(item.Key, prefixSession),
		Sealed:        item.Sealed,
		CreatedAt:     fromMillis(item.CreatedAt),
		LastSeenAt:    fromMillis(item.LastSeenAt),
		ExpiresAt:     fromMillis(item.ValidUntil),
		IdleExpiresAt: fromMillis(item.IdleUntil),
	}
}

func newHandoffItem(handoff Handoff) handoffItem {
	return handoffItem{
		Key:        prefixHandoff + handoff.Hash,
		TTL:        ttlSeconds(handoff.ExpiresAt),
		CreatedAt:  handoff.CreatedAt.UnixMilli(),
		ValidUntil: handoff.ExpiresAt.UnixMilli(),
		Origin:     handoff.Origin,
		Sealed:     handoff.Sealed,
	}
}

func (item handoffItem) record() Handoff {
	return Handoff{
		Hash:      strings.TrimPrefix(item.Key, prefixHandoff),
		Origin:    item.Origin,
		Sealed:    item.Sealed,
		CreatedAt: fromMillis(item.CreatedAt),
		ExpiresAt: fromMillis(item.ValidUntil),
	}
}

// ttlSeconds rounds up, so TTL deletion never removes a record that code
// still treats as live.
func ttlSeconds(t time.Time) int64 {
	return (t.UnixMilli() + 999) / 1000
}

func fromMillis(ms int64) time.Time {
	return time.UnixMilli(ms).UTC()
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}

	return a
}
