package flowtest

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// Row kinds, by the key prefix shared/store gives each record.
const (
	KindState   = "state"
	KindSession = "session"
	KindHandoff = "handoff"
)

// Table is a DynamoDB table the product writes to, read directly, as an
// operator with console access would.
type Table struct {
	DB   *dynamodb.Client
	Name string
}

// Row is one item of the table.
type Row map[string]types.AttributeValue

// Key returns the partition key.
func (r Row) Key() string {
	if v, ok := r[store.AttrKey].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// Kind returns the record kind from the key prefix, or "" for a key the
// store would never write.
func (r Row) Kind() string {
	kind, _, found := strings.Cut(r.Key(), "#")
	if !found {
		return ""
	}
	switch kind {
	case KindState, KindSession, KindHandoff:
		return kind
	}
	return ""
}

// Text returns every attribute name and value as text, binary values both
// raw and in base64, for searches for leaked secrets.
func (r Row) Text() string {
	var b strings.Builder
	names := make([]string, 0, len(r))
	for name := range r {
		names = append(names, name)
	}
	sort.Strings(names)

	for _, name := range names {
		fmt.Fprintf(&b, "%s=", name)
		writeAttribute(&b, r[name])
		b.WriteString("\n")
	}
	return b.String()
}

func writeAttribute(b *strings.Builder, value types.AttributeValue) {
	switch v := value.(type) {
	case *types.AttributeValueMemberS:
		b.WriteString(v.Value)
	case *types.AttributeValueMemberN:
		b.WriteString(v.Value)
	case *types.AttributeValueMemberB:
		b.Write(v.Value)
		b.WriteString(" " + base64.StdEncoding.EncodeToString(v.Value))
	case *types.AttributeValueMemberBOOL:
		fmt.Fprint(b, v.Value)
	default:
		fmt.Fprintf(b, "%#v", v)
	}
}

// Scan returns every item of the table, following pagination.
func (tb Table) Scan(t testing.TB) []Row {
	t.Helper()

	var rows []Row
	var start map[string]types.AttributeValue
	for {
		out, err := tb.DB.Scan(context.Background(), &dynamodb.ScanInput{
			TableName:         aws.String(tb.Name),
			ExclusiveStartKey: start,
			ConsistentRead:    aws.Bool(true),
		})
		if err != nil {
			t.Fatalf("scan table %s: %v", tb.Name, err)
		}
		for _, item := range out.Items {
			rows = append(rows, Row(item))
		}
		if len(out.LastEvaluatedKey) == 0 {
			return rows
		}
		start = out.LastEvaluatedKey
	}
}

// Count returns the number of rows of each kind. A row of unknown kind
// fails the test, so a change of key layout cannot hide rows from it.
func (tb Table) Count(t testing.TB) map[string]int {
	t.Helper()

	counts := map[string]int{}
	for _, row := range tb.Scan(t) {
		kind := row.Kind()
		if kind == "" {
			t.Fatalf("table %s has a row with unknown key %q", tb.Name, row.Key())
		}
		counts[kind]++
	}
	return counts
}

// AssertCount fails unless the table holds exactly want rows of kind.
func (tb Table) AssertCount(t testing.TB, kind string, want int) {
	t.Helper()

	if got := tb.Count(t)[kind]; got != want {
		t.Errorf("table has %d %s rows, want %d", got, kind, want)
	}
}

// AssertEmpty fails unless the table has no rows at all.
func (tb Table) AssertEmpty(t testing.TB) {
	t.Helper()

	if rows := tb.Scan(t); len(rows) != 0 {
		keys := make([]string, len(rows))
		for i, row := range rows {
			keys[i] = row.Key()
		}
		t.Errorf("table has %d rows, want none: %q", len(rows), keys)
	}
}

// Delete removes the row with the given key.
func (tb Table) Delete(t testing.TB, key string) {
	t.Helper()

	_, err := tb.DB.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{
		TableName: aws.String(tb.Name),
		Key:       map[string]types.AttributeValue{store.AttrKey: &types.AttributeValueMemberS{Value: key}},
	})
	if err != nil {
		t.Fatalf("delete %q from table %s: %v", key, tb.Name, err)
	}
}
