package client

import (
	"context"
	"net/http"

	"github.com/hive-dev/hive/schema"
)

// Reported is the server's answer to an outcome.
type Reported struct {
	TraceID  schema.ID `json:"trace_id"`
	Reporter string    `json:"reporter"`
	Outcome  string    `json:"outcome"`
	Commit   string    `json:"commit"`
}

// ReportOutcome posts a signed outcome of skill id (an outcome envelope, as
// `hive outcome ID --success --export` makes one) to POST
// /skills/{id}/outcomes. An error from the server is an *Error: 400
// invalid, 403 unknown key, 404 no such skill, 409 already reported.
func (c *Client) ReportOutcome(ctx context.Context, id schema.ID, envelope []byte) (*Reported, error) {
	var r Reported
	if err := c.do(ctx, http.MethodPost, "/skills/"+string(id)+"/outcomes", envelope, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
