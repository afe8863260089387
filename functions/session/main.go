// Command session is the Lambda function for the product's session route.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gitbook-login/lambda-oauth/shared/app"
)

func main() {
	lambda.Start(app.Main("session"))
}
