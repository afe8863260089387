// Command hello is the floor of the cold-start comparison: a hello-world
// aws-lambda-go function for API Gateway HTTP API (payload format 2.0),
// built with the same flags as the product's functions, that does nothing
// but return 200. What the product's functions take beyond it is their own
// init: configuration, AWS SDK clients and the handler.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(hello)
}

func hello(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "text/plain"},
		Body:       "hello",
	}, nil
}
