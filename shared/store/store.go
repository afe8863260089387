// Package store keeps login states, sessions and handoff codes in one
// DynamoDB table. Every key is the SHA-256 of a secret the browser holds, so
// the table never contains a state, session id or handoff code in plain text.
//
// The same code runs against real DynamoDB, the embedded store of the local
// runner, moto server and dynalite: only the endpoint differs.
package store

import (
	"errors"
	"time"
)

// Attribute names of the table. The template's TTL attribute must equal
// AttrExpiresAt; a test checks template.yaml against it.
const (
	AttrKey       = "pk"
	AttrExpiresAt = "expires_at"
)

var (
	// ErrNotFound means no live record has that key: it never existed, was
	// already consumed or deleted, or has expired.
	ErrNotFound = errors.New("store: record not found or expired")

	// ErrExists means a Put met a record with the same key. Keys come from 32
	// random bytes, so this signals a broken random source, not bad luck.
	ErrExists = errors.New("store: record already exists")
)

// State is a pending authorization request, created by authorize and
// consumed once by callback.
type State struct {
	Hash         string // SHA-256 of the state value, base64url
	ReturnTo     string // normalised return URL that passed the allowlist
	Origin       string // origin of ReturnTo, for the cross-site handoff
	PKCEVerifier string // RFC 7636 code_verifier; empty when PKCE is off
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// Session is a logged-in visitor. Sealed holds the provider token, sealed
// with the record's key as associated data.
type Session struct {
	Hash          string // SHA-256 of the session id, base64url
	Sealed        []byte
	CreatedAt     time.Time
	LastSeenAt    time.Time
	ExpiresAt     time.Time // absolute lifetime
	IdleExpiresAt time.Time // moves forward on use, never past ExpiresAt
}

// Handoff is a one-time code that the cross-site mode puts in the return
// URL's fragment. Sealed holds the session id, sealed with the record's key.
type Handoff struct {
	Hash      string
	Origin    string // the origin that started the login; only it may redeem
	Sealed    []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}
