package sandbox

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

var (
	formActionPattern  = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	hiddenInputPattern = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// Consent approves or denies an authorization request as a user would in a
// browser, for tests without one. It loads authorizeURL, submits the consent
// form with Approve if approve is true and with Deny otherwise, and returns
// the redirect location without following it. The location carries the code
// or the error. If the authorization request itself is redirected with an
// error, Consent returns that location. It returns an error if the sandbox
// shows an error page. A nil client means http.DefaultClient.
func Consent(ctx context.Context, client *http.Client, authorizeURL string, approve bool) (*url.URL, error) {
	if client == nil {
		client = http.DefaultClient
	}
	noRedirects := *client
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	page, location, err := fetchConsentPage(ctx, &noRedirects, authorizeURL)
	if err != nil || location != nil {
		return location, err
	}

	form, action, err := parseConsentForm(page)
	if err != nil {
		return nil, err
	}
	form.Set("decision", "deny")
	if approve {
		form.Set("decision", "approve")
	}

	base, _ := url.Parse(authorizeURL) // already requested, so valid
	decideURL := base.ResolveReference(action).String()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, decideURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return doExpectingRedirect(&noRedirects, req)
}

// fetchConsentPage returns the consent page, or the redirect location if
// the authorization request was redirected.
func fetchConsentPage(ctx context.Context, client *http.Client, authorizeURL string) (string, *url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authorizeURL, nil)
	if err != nil {
		return "", nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()

	if resp.StatusCode == http.StatusFound {
		location, err := resp.Location()
		return "", location, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("sandbox consent: authorization request failed with status %d: %s", resp.StatusCode, pageError(string(body)))
	}
	return string(body), nil, nil
}

// parseConsentForm extracts the hidden fields and the action of the consent
// form. It relies on the exact markup of consentTemplate.
func parseConsentForm(page string) (url.Values, *url.URL, error) {
	match := formActionPattern.FindStringSubmatch(page)
	if match == nil {
		return nil, nil, fmt.Errorf("sandbox consent: the consent page has no form")
	}
	action, err := url.Parse(html.UnescapeString(match[1]))
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox consent: invalid form action: %v", err)
	}

	form := url.Values{}
	for _, input := range hiddenInputPattern.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(input[1]), html.UnescapeString(input[2]))
	}
	return form, action, nil
}

func doExpectingRedirect(client *http.Client, req *http.Request) (*url.URL, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusFound {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, fmt.Errorf("sandbox consent: form submission failed with status %d: %s", resp.StatusCode, pageError(string(body)))
	}
	return resp.Location()
}

var errorParagraphPattern = regexp.MustCompile(`<p id="error">([^<]*)</p>`)

// pageError returns the message of a sandbox error page, or "" for other pages.
func pageError(page string) string {
	if match := errorParagraphPattern.FindStringSubmatch(page); match != nil {
		return html.UnescapeString(match[1])
	}
	return ""
}
