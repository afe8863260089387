package store

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// PutSession stores a new session. It returns ErrExists if a session with
// the same hash is stored already.
func (s *Store) PutSession(ctx context.Context, session Session) error {
	if err := validate(session.Hash, session.ExpiresAt); err != nil {
		return wrap("put session", err)
	}

	if session.IdleExpiresAt.IsZero() {
		return wrap("put session", errors.New("invalid record: missing IdleExpiresAt"))
	}

	return wrap("put session", s.put(ctx, newSessionItem(session)))
}

// GetSession returns the session under hash. It returns ErrNotFound if the
// session is missing, or if at now it is past ExpiresAt or IdleExpiresAt.
// Expiry is checked here because TTL deletion can lag by days.
func (s *Store) GetSession(ctx context.Context, hash string, now time.Time) (Session, error) {
	if hash == "" {
		return Session{}, ErrNotFound
	}

	attributes, err := s.get(ctx, prefixSession+hash)
	if err != nil {
		return Session{}, wrap("get session", err)
	}

	var item sessionItem
	if err := attributevalue.UnmarshalMap(attributes, &item); err != nil {
		return Session{}, wrap("get session", err)
	}

	session := item.record()
	if !now.Before(session.ExpiresAt) || !now.Before(session.IdleExpiresAt) {
		return Session{}, ErrNotFound
	}

	return session, nil
}

// TouchSession records a use of the session at lastSeen and moves its idle
// expiry to idleExpiresAt. It returns ErrNotFound if the session is missing
// or expired at lastSeen, so a deleted session is never recreated. An
// idleExpiresAt past ExpiresAt does not extend the session, because
// GetSession checks both.
func (s *Store) TouchSession(ctx context.Context, hash string, lastSeen, idleExpiresAt time.Time) error {
	if hash == "" {
		return ErrNotFound
	}

	now := expression.Value(lastSeen.UnixMilli())
	live := expression.AttributeExists(expression.Name(AttrKey)).
		And(expression.Name(attrValidUntil).GreaterThan(now)).
		And(expression.Name(attrIdleUntil).GreaterThan(now))

	update := expression.Set(expression.Name(attrLastSeenAt), now).
		Set(expression.Name(attrIdleUntil), expression.Value(idleExpiresAt.UnixMilli())).
		Set(expression.Name(AttrExpiresAt), expression.Value(ttlSeconds(idleExpiresAt)))

	built, err := expression.NewBuilder().WithCondition(live).WithUpdate(update).Build()
	if err != nil {
		return wrap("touch session", err)
	}

	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       keyAttribute(prefixSession + hash),
		ConditionExpression:       built.Condition(),
		UpdateExpression:          built.Update(),
		ExpressionAttributeNames:  built.Names(),
		ExpressionAttributeValues: built.Values(),
	})
	if isConditionFailed(err) {
		return ErrNotFound
	}

	return wrap("touch session", err)
}

// DeleteSession removes the session under hash. Deleting a missing session
// is not an error, so logout can be repeated safely.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if hash == "" {
		return nil
	}

	return wrap("delete session", s.delete(ctx, prefixSession+hash))
}
