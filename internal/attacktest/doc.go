// Package attacktest holds the attack tables of the product. For each route
// they list the requests an attacker would send: login CSRF, code and state
// replay, open redirects, CORS origin tricks, oversized inputs, cookie
// tossing and logout CSRF. Each is checked for its status, its log line and
// the side effects it must not have. DynamoDB requests are counted at a
// proxy in front of the embedded store and provider requests by the
// sandbox, so "no write" and "no provider call" are measured, not inferred.
//
// The package has tests only.
package attacktest
