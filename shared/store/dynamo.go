package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Store reads and writes the records of one DynamoDB table. It is safe for
// concurrent use.
type Store struct {
	db    *dynamodb.Client
	table string
}

// New returns a Store on the named table. Call EnsureTable first where the
// table may not exist yet (local runs and tests).
func New(db *dynamodb.Client, table string) *Store {
	return &Store{db: db, table: table}
}

// put writes item unless a record with its key exists.
func (s *Store) put(ctx context.Context, item any) error {
	attributes, err := attributevalue.MarshalMap(item)
	if err != nil {
		return err
	}

	cond := expression.AttributeNotExists(expression.Name(AttrKey))

	built, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return err
	}

	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      attributes,
		ConditionExpression:       built.Condition(),
		ExpressionAttributeNames:  built.Names(),
		ExpressionAttributeValues: built.Values(),
	})
	if isConditionFailed(err) {
		return ErrExists
	}

	return err
}

// consume deletes the record under key if it has not expired at now and
// returns its attributes. DynamoDB evaluates the condition and the delete as
// one step, so of concurrent callers exactly one receives the record.
func (s *Store) consume(ctx context.Context, key string, now time.Time) (map[string]types.AttributeValue, error) {
	live := expression.AttributeExists(expression.Name(AttrKey)).
		And(expression.Name(attrValidUntil).GreaterThan(expression.Value(now.UnixMilli())))

	built, err := expression.NewBuilder().WithCondition(live).Build()
	if err != nil {
		return nil, err
	}

	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       keyAttribute(key),
		ConditionExpression:       built.Condition(),
		ExpressionAttributeNames:  built.Names(),
		ExpressionAttributeValues: built.Values(),
		ReturnValues:              types.ReturnValueAllOld,
	})
	if isConditionFailed(err) {
		s.deleteExpired(ctx, key, now)
		return nil, ErrNotFound
	}

	if err != nil {
		return nil, err
	}

	if len(out.Attributes) == 0 {
		return nil, ErrNotFound
	}

	return out.Attributes, nil
}

// deleteExpired removes the record under key if it expired at or before now,
// so a record that TTL has not reached yet leaves the table when first
// rejected. A failure only delays that, so it is logged, not returned.
func (s *Store) deleteExpired(ctx context.Context, key string, now time.Time) {
	expired := expression.AttributeExists(expression.Name(AttrKey)).
		And(expression.Name(attrValidUntil).LessThanEqual(expression.Value(now.UnixMilli())))

	built, err := expression.NewBuilder().WithCondition(expired).Build()
	if err != nil {
		slog.WarnContext(ctx, "store: build cleanup condition failed", "error", err)
		return
	}

	_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       keyAttribute(key),
		ConditionExpression:       built.Condition(),
		ExpressionAttributeNames:  built.Names(),
		ExpressionAttributeValues: built.Values(),
	})
	if err != nil && !isConditionFailed(err) {
		slog.WarnContext(ctx, "store: delete of expired record failed", "table", s.table, "error", err)
	}
}

// get reads the record under key with a strongly consistent read, so a
// record deleted a moment ago is not returned.
func (s *Store) get(ctx context.Context, key string) (map[string]types.AttributeValue, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            keyAttribute(key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}

	// len, not nil: minidyn returns an empty map for a missing item.
	if len(out.Item) == 0 {
		return nil, ErrNotFound
	}

	return out.Item, nil
}

func (s *Store) delete(ctx context.Context, key string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table),
		Key:       keyAttribute(key),
	})

	return err
}

func keyAttribute(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrKey: &types.AttributeValueMemberS{Value: key}}
}

func isConditionFailed(err error) bool {
	var failed *types.ConditionalCheckFailedException

	return errors.As(err, &failed)
}

// wrap adds the operation to an unexpected error and passes ErrNotFound and
// ErrExists through unchanged, because callers compare them with errors.Is
// and their text already names the store.
func wrap(operation string, err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists) {
		return err
	}

	return fmt.Errorf("store: %s: %w", operation, err)
}
