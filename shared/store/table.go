package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// tableActiveTimeout bounds the wait for a new table to become ACTIVE. Real
// DynamoDB usually needs seconds, and the stand-ins create tables at once.
const tableActiveTimeout = 2 * time.Minute

// EnsureTable creates the table if it does not exist (partition key pk of
// type S, on-demand billing), waits until it is ACTIVE and enables TTL on
// expires_at. It is meant for local runs and tests: in AWS the template
// creates the table. Calling it again is harmless.
//
// Stand-ins without TTL operations (dynalite, minidyn) are accepted with a
// warning in the log, because code checks every expiry itself.
func (s *Store) EnsureTable(ctx context.Context) error {
	if err := s.createTable(ctx); err != nil {
		return fmt.Errorf("store: ensure table %s: %w", s.table, err)
	}

	if err := s.waitActive(ctx); err != nil {
		return fmt.Errorf("store: ensure table %s: %w", s.table, err)
	}

	if err := s.enableTTL(ctx); err != nil {
		return fmt.Errorf("store: ensure table %s: enable TTL: %w", s.table, err)
	}

	return nil
}

func (s *Store) createTable(ctx context.Context) error {
	table, err := s.describeTable(ctx)
	if err == nil {
		return checkKeySchema(table.KeySchema)
	}

	var missing *types.ResourceNotFoundException
	if !errors.As(err, &missing) {
		return err
	}

	_, err = s.db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(s.table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(AttrKey), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(AttrKey), KeyType: types.KeyTypeHash},
		},
	})

	// Another caller may have created the table since the describe call.
	var inUse *types.ResourceInUseException
	if errors.As(err, &inUse) {
		return nil
	}

	return err
}

// checkKeySchema rejects an existing table whose key is not pk alone, as a
// TABLE_NAME that points at another application's table would have.
func checkKeySchema(schema []types.KeySchemaElement) error {
	if len(schema) == 1 && aws.ToString(schema[0].AttributeName) == AttrKey && schema[0].KeyType == types.KeyTypeHash {
		return nil
	}

	names := make([]string, 0, len(schema))
	for _, element := range schema {
		names = append(names, aws.ToString(element.AttributeName)+" "+string(element.KeyType))
	}

	return fmt.Errorf("table exists with key schema [%s], want only %s HASH; choose another table name", strings.Join(names, ", "), AttrKey)
}

func (s *Store) describeTable(ctx context.Context) (*types.TableDescription, error) {
	out, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
	if err != nil {
		return nil, err
	}

	return out.Table, nil
}

// waitActive polls the table status with growing pauses. It counts an empty
// status as ACTIVE because minidyn reports none. The SDK's TableExistsWaiter
// would wait on such a table until its timeout.
func (s *Store) waitActive(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, tableActiveTimeout)
	defer cancel()

	pause := 100 * time.Millisecond

	for {
		table, err := s.describeTable(ctx)
		if err != nil {
			return err
		}

		if table.TableStatus == types.TableStatusActive || table.TableStatus == "" {
			return nil
		}

		select {
		case <-ctx.Done():
			return fmt.Errorf("table status %s: %w", table.TableStatus, ctx.Err())
		case <-time.After(pause):
		}

		pause = min(2*pause, 2*time.Second)
	}
}

// enableTTL turns on TTL deletion on AttrExpiresAt unless it is on already,
// because real DynamoDB rejects enabling it twice.
func (s *Store) enableTTL(ctx context.Context) error {
	described, err := s.db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(s.table)})
	if err == nil && ttlEnabled(described.TimeToLiveDescription) {
		return nil
	}

	if err != nil && !isUnsupported(err) {
		return err
	}

	_, err = s.db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(s.table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(AttrExpiresAt),
			Enabled:       aws.Bool(true),
		},
	})
	if isUnsupported(err) {
		// Local stand-ins (minidyn, dynalite) have no TTL. Expiry is
		// enforced in code, so this only means old records stay stored.
		slog.InfoContext(ctx, "store: this endpoint has no TTL support; expired records stay until a request removes them",
			"table", s.table)
		return nil
	}

	return err
}

func ttlEnabled(description *types.TimeToLiveDescription) bool {
	if description == nil || aws.ToString(description.AttributeName) != AttrExpiresAt {
		return false
	}

	status := description.TimeToLiveStatus

	return status == types.TimeToLiveStatusEnabled || status == types.TimeToLiveStatusEnabling
}

// isUnsupported reports whether err means the endpoint lacks the operation.
// Dynalite 4.0.0 returns UnknownOperationException. minidyn 0.8.2 returns
// HTTP 400 with the plain-text body "unsupported operation", which the SDK
// fails to decode as a DynamoDB error.
func isUnsupported(err error) bool {
	if err == nil {
		return false
	}

	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "UnknownOperationException" {
		return true
	}

	var responseErr *smithyhttp.ResponseError
	if !errors.As(err, &responseErr) || responseErr.HTTPStatusCode() != http.StatusBadRequest {
		return false
	}

	// Real DynamoDB sends every error as JSON, so an undecodable 400 comes
	// only from an endpoint that is not DynamoDB proper.
	var decodeErr *smithy.DeserializationError

	return errors.As(err, &decodeErr)
}
