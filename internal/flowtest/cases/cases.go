// Package cases reads the table-driven test cases that several packages
// share, so that the unit tests of a part and the tests of the whole flow
// check the same inputs.
package cases

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Outcomes of a return URL at GET /authorize.
const (
	Accept  = "accept"  // redirect to the normalised URL after login
	Reject  = "reject"  // 400 at authorize, nothing stored
	Default = "default" // redirect to the configured default return URL
)

// ReturnTo is one row of a return URL table.
type ReturnTo struct {
	Line    int
	Value   string // as the handler receives it, after one query decoding
	Outcome string
	SentTo  string // redirect target after login, for Accept and Default
	Reason  string
}

// Name is a short subtest name for the row.
func (c ReturnTo) Name() string {
	return fmt.Sprintf("line%d_%s", c.Line, c.Outcome)
}

// LoadReturnTo reads a tab-separated return URL table: lines starting with
// # are comments, the first other line is the header, and a value in
// double quotes is a Go string literal.
func LoadReturnTo(path string) ([]ReturnTo, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()

	var rows []ReturnTo
	header := true
	scanner := bufio.NewScanner(file)
	for line := 1; scanner.Scan(); line++ {
		text := scanner.Text()
		if strings.HasPrefix(text, "#") || strings.TrimSpace(text) == "" {
			continue
		}
		if header {
			header = false
			continue
		}

		row, err := parseReturnTo(line, text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		rows = append(rows, row)
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no cases", path)
	}
	return rows, nil
}

func parseReturnTo(line int, text string) (ReturnTo, error) {
	fields := strings.Split(text, "\t")
	if len(fields) != 4 {
		return ReturnTo{}, fmt.Errorf("want 4 tab-separated fields, got %d", len(fields))
	}

	value := fields[0]
	if strings.HasPrefix(value, `"`) {
		unquoted, err := strconv.Unquote(value)
		if err != nil {
			return ReturnTo{}, fmt.Errorf("invalid quoted value %s: %w", value, err)
		}
		value = unquoted
	}

	row := ReturnTo{Line: line, Value: value, Outcome: fields[1], SentTo: fields[2], Reason: fields[3]}
	switch {
	case row.Outcome != Accept && row.Outcome != Reject && row.Outcome != Default:
		return ReturnTo{}, fmt.Errorf("unknown outcome %q: want accept, reject or default", row.Outcome)
	case row.Outcome == Reject && row.SentTo != "":
		return ReturnTo{}, fmt.Errorf("a rejected value has no sent_to URL, got %q", row.SentTo)
	case row.Outcome != Reject && row.SentTo == "":
		return ReturnTo{}, fmt.Errorf("missing sent_to URL for outcome %s", row.Outcome)
	case row.Reason == "":
		return ReturnTo{}, fmt.Errorf("missing reason")
	}
	return row, nil
}
