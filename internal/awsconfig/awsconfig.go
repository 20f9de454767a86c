// Package awsconfig loads the AWS SDK configuration shared by the adapters
// that speak to AWS APIs (the S3 blob store, the SES mailer): the standard
// credential chain in production, static keys for tests and S3-compatible
// stores.
package awsconfig

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// Options select what the standard chain would otherwise decide.
type Options struct {
	Region string // empty: from the environment or profile
	// AccessKey and SecretKey, when both set, replace the credential chain.
	AccessKey string
	SecretKey hashdrop.Secret
	// HTTPClient, when set, carries the API calls.
	HTTPClient *http.Client
}

// Load returns the SDK configuration for o. It makes no network call; a wrong
// credential shows on first use. Setting only one of the static keys is
// KindInvalid rather than a silent fall back to the chain.
func Load(ctx context.Context, o Options) (aws.Config, error) {
	var loaders []func(*config.LoadOptions) error
	if o.Region != "" {
		loaders = append(loaders, config.WithRegion(o.Region))
	}
	if o.AccessKey != "" || o.SecretKey != "" {
		if o.AccessKey == "" || o.SecretKey == "" {
			return aws.Config{}, hashdrop.Errorf(hashdrop.KindInvalid, "static AWS credentials need both an access key and a secret key")
		}
		loaders = append(loaders, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.AccessKey, o.SecretKey.Reveal(), "")))
	}
	if o.HTTPClient != nil {
		loaders = append(loaders, config.WithHTTPClient(o.HTTPClient))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}
