package rie

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gitbook-login/lambda-oauth/shared/apigw"
)

// InvokeEvent sends a payload 2.0 event and decodes the function's response
// the way API Gateway does (see decodeResponse).
func (e *Emulator) InvokeEvent(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("rie: encode event: %w", err)
	}
	body, err := e.Invoke(ctx, payload)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return decodeResponse(e.name, body)
}

// FunctionError is a function that returned an error instead of a response.
// API Gateway returns 500 for such an invoke.
type FunctionError struct {
	Function string
	Type     string `json:"errorType"`
	Message  string `json:"errorMessage"`
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("rie: function %s returned error %s: %s", e.Function, e.Type, e.Message)
}

// decodeResponse reads a payload 2.0 response as API Gateway does. A JSON
// object without statusCode is the body of a 200 response with Content-Type
// application/json, unless it has errorType and errorMessage, which make it
// the function's error.
func decodeResponse(function string, body []byte) (events.APIGatewayV2HTTPResponse, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("rie: function %s returned %d bytes that are not a JSON object: %w", function, len(body), err)
	}

	if _, ok := fields["statusCode"]; !ok {
		_, hasType := fields["errorType"]
		_, hasMessage := fields["errorMessage"]
		if hasType && hasMessage {
			fnErr := &FunctionError{Function: function}
			_ = json.Unmarshal(body, fnErr)
			return events.APIGatewayV2HTTPResponse{}, fnErr
		}
		return events.APIGatewayV2HTTPResponse{
			StatusCode: http.StatusOK,
			Headers:    map[string]string{"Content-Type": "application/json"},
			Body:       string(body),
		}, nil
	}

	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return resp, fmt.Errorf("rie: function %s returned an invalid response: %w", function, err)
	}
	return resp, nil
}

// Route returns an http.Handler that serves one API route through the
// emulated function, as API Gateway's Lambda proxy integration does: the
// request becomes a payload 2.0 event (apigw.Event), the function's response
// becomes the HTTP response (apigw.Write). routeKey is "METHOD /path" and
// stage is the API stage, "$default" for an API served at its root.
//
// A failed invoke is logged to logger (nil means slog.Default), and the
// client gets what API Gateway sends then: 500 with
// {"message":"Internal Server Error"}.
func (e *Emulator) Route(routeKey, stage string, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := apigw.Event(r, routeKey, stage)
		if err != nil {
			writeGatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
			return
		}

		resp, err := e.InvokeEvent(r.Context(), ev)
		if err != nil {
			logger.ErrorContext(r.Context(), "emulated function failed", "function", e.name, "route", routeKey, "error", err.Error())
			writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}

		if err := apigw.Write(w, resp); err != nil {
			logger.ErrorContext(r.Context(), "write emulated response failed", "function", e.name, "route", routeKey, "error", err.Error())
		}
	})
}

func writeGatewayError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body, _ := json.Marshal(map[string]string{"message": message})
	_, _ = w.Write(body)
}
