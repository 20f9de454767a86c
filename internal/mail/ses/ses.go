// Package ses is a hashdrop.Mailer on the Amazon SES v2 API (SendEmail with a
// simple text message), authenticated by the standard AWS credential chain.
package ses

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/hashdrop/hashdrop/internal/awsconfig"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

const charset = "UTF-8"

// Options adjust Open. Fields override the matching URL options.
type Options struct {
	// From is the sender: an address or identity verified in SES.
	From string
	// Region of the SES endpoint; the AWS environment's region when empty.
	Region string
	// ConfigurationSet, when set, names the SES configuration set to use.
	ConfigurationSet string
	// Endpoint replaces the SES endpoint (tests, VPC endpoints).
	Endpoint string
	// AccessKey and SecretKey, when both set, replace the credential chain.
	AccessKey string
	SecretKey hashdrop.Secret
	// HTTPClient carries the API calls when set.
	HTTPClient *http.Client
}

// Mailer sends through SES.
type Mailer struct {
	client    *sesv2.Client
	from      string
	configSet string
	region    string
}

var _ hashdrop.Mailer = (*Mailer)(nil)

// Open returns a Mailer for the --mail value rawURL: "ses", or
// "ses:?from=noreply@example.com&region=eu-west-1&configuration_set=name"
// ("ses://?…" works too). A sender is required, from the URL or opts.From.
// It makes no network call.
func Open(ctx context.Context, rawURL string, opts Options) (*Mailer, error) {
	if err := parseURL(rawURL, &opts); err != nil {
		return nil, err
	}
	if opts.From == "" {
		return nil, hashdrop.Errorf(hashdrop.KindInvalid, "ses mailer: no sender address; add ?from=noreply@example.com (an SES-verified identity)")
	}
	if _, err := hashdrop.ParseAddress(opts.From); err != nil {
		return nil, hashdrop.Errorf(hashdrop.KindInvalid, "ses mailer: bad sender address")
	}
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Region: opts.Region, AccessKey: opts.AccessKey, SecretKey: opts.SecretKey, HTTPClient: opts.HTTPClient})
	if err != nil {
		return nil, fmt.Errorf("ses mailer: %w", err)
	}
	if cfg.Region == "" {
		return nil, hashdrop.Errorf(hashdrop.KindInvalid, "ses mailer: no AWS region; set AWS_REGION or add ?region=")
	}
	client := sesv2.NewFromConfig(cfg, func(o *sesv2.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	})
	return &Mailer{client: client, from: opts.From, configSet: opts.ConfigurationSet, region: cfg.Region}, nil
}

// parseURL fills opts fields that are still empty from rawURL's query.
func parseURL(rawURL string, opts *Options) error {
	if rawURL == "ses" {
		return nil
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "ses" || u.Host != "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.Opaque != "" || u.Fragment != "" {
		return hashdrop.Errorf(hashdrop.KindInvalid, "ses mailer: want ses or ses:?from=addr&region=r&configuration_set=name")
	}
	for name, values := range u.Query() {
		if len(values) != 1 || values[0] == "" {
			return hashdrop.Errorf(hashdrop.KindInvalid, "ses mailer: option %q needs exactly one non-empty value", name)
		}
		var field *string
		switch name {
		case "from":
			field = &opts.From
		case "region":
			field = &opts.Region
		case "configuration_set":
			field = &opts.ConfigurationSet
		case "endpoint":
			field = &opts.Endpoint
		default:
			return hashdrop.Errorf(hashdrop.KindInvalid, "ses mailer: unknown option %q (want from, region, configuration_set, endpoint)", name)
		}
		if *field == "" {
			*field = values[0]
		}
	}
	if opts.Endpoint != "" {
		e, err := url.Parse(opts.Endpoint)
		if err != nil || (e.Scheme != "https" && e.Scheme != "http") || e.Host == "" {
			return hashdrop.Errorf(hashdrop.KindInvalid, "ses mailer: endpoint must be an http(s) URL")
		}
	}
	return nil
}

// Send submits msg with SendEmail. The recipient and subject are checked
// first, as for SMTP, so that no caller can smuggle in extra headers.
func (m *Mailer) Send(ctx context.Context, msg hashdrop.Message) error {
	to, err := msg.Recipient()
	if err != nil {
		return err
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.from),
		Destination:      &types.Destination{ToAddresses: []string{to.Address}},
		Content: &types.EmailContent{Simple: &types.Message{
			// SES wants a 7-bit subject; RFC 2047 leaves ASCII as it is.
			Subject: &types.Content{Data: aws.String(mime.QEncoding.Encode("utf-8", msg.Subject)), Charset: aws.String(charset)},
			Body:    &types.Body{Text: &types.Content{Data: aws.String(msg.Body), Charset: aws.String(charset)}},
		}},
	}
	if m.configSet != "" {
		in.ConfigurationSetName = aws.String(m.configSet)
	}
	if _, err := m.client.SendEmail(ctx, in); err != nil {
		return hashdrop.Internal(fmt.Errorf("ses send (%s): %w", m.region, err))
	}
	return nil
}
