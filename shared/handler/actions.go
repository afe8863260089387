package handler

// AWSActions lists, for each function (the Name of its routes), every AWS
// API action its code can call, as IAM action names. The store, the sealer
// and the secret source make the calls. The list is kept here, next to
// Routes, because the route's logic decides which calls happen.
//
// template.yaml must grant each function exactly these actions: the template
// check compares its policies with this table, and the emulator tests record
// the calls each built function makes and compare them with it too.
var AWSActions = map[string][]string{
	// PutItem stores the login state.
	"authorize": {"dynamodb:PutItem"},

	// DeleteItem consumes the state. It also removes an expired state, and a
	// session whose handoff could not be stored. GetItem finds the session
	// of a reused state. PutItem stores the session and the handoff.
	// GenerateDataKey seals the token. GetSecretValue reads the client secret.
	"callback": {
		"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem",
		"kms:GenerateDataKey", "secretsmanager:GetSecretValue",
	},

	// GetItem reads the session, UpdateItem moves its idle expiry, DeleteItem
	// removes a session the provider revoked or that fails to open, Decrypt
	// opens the token.
	"account": {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "kms:Decrypt"},

	// GetItem and Decrypt read the token to revoke, GetSecretValue
	// authenticates the revocation request, DeleteItem ends the session.
	"logout": {"dynamodb:DeleteItem", "dynamodb:GetItem", "kms:Decrypt", "secretsmanager:GetSecretValue"},

	// DeleteItem consumes the handoff, Decrypt opens the session id in it,
	// GetItem reads the session's expiry.
	"session": {"dynamodb:DeleteItem", "dynamodb:GetItem", "kms:Decrypt"},
}
