package origin_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/shared/origin"
)

func TestCheckReturnToRejectsHTTPOriginInList(t *testing.T) {
	t.Parallel()

	// A list built by hand, bypassing Parse, must still not allow plain
	// http to a public host.
	allowed := []origin.Origin{"http://docs.example.com"}

	if got, _, err := origin.CheckReturnTo("http://docs.example.com/", allowed); err == nil {
		t.Fatalf("CheckReturnTo accepted %q with an http origin in the list", got)
	}
}

func TestCheckReturnToBoundsNormalisedLength(t *testing.T) {
	t.Parallel()
	allowed := tableAllowed(t)

	// Each backtick is escaped to %60, so this input of fewer than
	// MaxReturnToLength bytes normalises to about three times as many.
	prefix := "https://docs.example.com/"
	input := prefix + strings.Repeat("`", (origin.MaxReturnToLength-len(prefix))/2)

	got, _, err := origin.CheckReturnTo(input, allowed)
	if !errors.Is(err, origin.ErrReturnTo) {
		t.Fatalf("CheckReturnTo of %d bytes = %d bytes, %v; want ErrReturnTo", len(input), len(got), err)
	}
}
