// Package s3 is a hashdrop.BlobStore on any S3-compatible object store (AWS
// S3, Cloudflare R2, MinIO, SeaweedFS, versitygw). The server never moves
// file bytes itself: uploads and downloads go through presigned URLs, and the
// store is only asked for an object's size and to delete objects.
package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/hashdrop/hashdrop/internal/awsconfig"
	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

// defaultRegion is used when neither the URL nor the environment names one:
// S3-compatible stores accept it and SigV4 needs some region.
const defaultRegion = "us-east-1"

// maxPresignTTL is SigV4's limit on a presigned URL's lifetime.
const maxPresignTTL = 7 * 24 * time.Hour

// deleteBatch is the most keys one DeleteObjects call accepts.
const deleteBatch = 1000

// Location is a parsed s3:// blob store URL.
type Location struct {
	Bucket    string
	Prefix    string // "" or ends with "/"
	Endpoint  string // "" means AWS S3 itself
	Region    string // "" means from the environment (or us-east-1)
	PathStyle bool
}

// ParseURL parses s3://bucket[/prefix][?endpoint=URL&region=R&path_style=true].
// Credentials never go in the URL: they come from the standard AWS chain.
func ParseURL(raw string) (Location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, hashdrop.Errorf(hashdrop.KindInvalid, "s3 blob store: malformed URL")
	}
	if u.Scheme != "s3" {
		return Location{}, hashdrop.Errorf(hashdrop.KindInvalid, "s3 blob store: URL must start with s3://")
	}
	if u.User != nil {
		return Location{}, hashdrop.Errorf(hashdrop.KindInvalid, "s3 blob store: credentials do not belong in the URL; use the AWS credential chain (AWS_ACCESS_KEY_ID, profile, role)")
	}
	if u.Host == "" {
		return Location{}, hashdrop.Errorf(hashdrop.KindInvalid, "s3 blob store: missing bucket name in s3://bucket/prefix")
	}
	if u.Fragment != "" {
		return Location{}, hashdrop.Errorf(hashdrop.KindInvalid, "s3 blob store: URL must not have a fragment")
	}
	loc := Location{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	if loc.Prefix != "" {
		loc.Prefix += "/"
	}
	if strings.Contains(loc.Prefix, "//") {
		return Location{}, hashdrop.Errorf(hashdrop.KindInvalid, "s3 blob store: prefix %q has an empty path segment", loc.Prefix)
	}
	for name, values := range u.Query() {
		if len(values) != 1 {
			return Location{}, hashdrop.Errorf(hashdrop.KindInvalid, "s3 blob store: option %q given more than once", name)
		}
		v := values[0]
		switch name {
		case "endpoint":
			e, err := url.Parse(v)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || e.RawQuery != "" || e.Fragment != "" || e.User != nil {
				return Location{}, hashdrop.Errorf(hashdrop.KindInvalid, "s3 blob store: endpoint must be an http(s)://host[:port] URL")
			}
			loc.Endpoint = v
		case "region":
			if v == "" {
				return Location{}, hashdrop.Errorf(hashdrop.KindInvalid, "s3 blob store: empty region")
			}
			loc.Region = v
		case "path_style":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Location{}, hashdrop.Errorf(hashdrop.KindInvalid, "s3 blob store: path_style must be true or false")
			}
			loc.PathStyle = b
		default:
			return Location{}, hashdrop.Errorf(hashdrop.KindInvalid, "s3 blob store: unknown option %q (want endpoint, region, path_style)", name)
		}
	}
	return loc, nil
}

// Options adjust Open. The zero value uses the standard AWS credential chain
// (environment, shared config/profile, web identity, ECS/EC2 roles).
type Options struct {
	// AccessKey and SecretKey, when both set, replace the credential chain
	// with static keys (tests, S3-compatible stores without AWS config).
	AccessKey string
	SecretKey hashdrop.Secret
	// HTTPClient, when set, carries the store's API calls.
	HTTPClient *http.Client
}

// Store is a hashdrop.BlobStore on one bucket, under one key prefix.
type Store struct {
	client  *awss3.Client
	presign *awss3.PresignClient
	bucket  string
	prefix  string
}

var _ hashdrop.BlobStore = (*Store)(nil)

// Open parses rawURL (see ParseURL) and returns a Store for it. It makes no
// network call; a wrong bucket or credential shows on first use.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	loc, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Region: loc.Region, AccessKey: opts.AccessKey, SecretKey: opts.SecretKey, HTTPClient: opts.HTTPClient})
	if err != nil {
		return nil, fmt.Errorf("s3 blob store: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	client := awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		if loc.Endpoint != "" {
			o.BaseEndpoint = aws.String(loc.Endpoint)
		}
		o.UsePathStyle = loc.PathStyle
		// Flexible checksums on every request are not understood by every
		// S3-compatible store and would leak into presigned PUT URLs as
		// headers the client does not send; only operations that require a
		// checksum (DeleteObjects) get one.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return New(client, loc.Bucket, loc.Prefix), nil
}

// New returns a Store on an existing client. prefix is prepended to every
// object key ("" or ending with "/").
func New(client *awss3.Client, bucket, prefix string) *Store {
	return &Store{client: client, presign: awss3.NewPresignClient(client), bucket: bucket, prefix: prefix}
}

// Bucket returns the bucket the store writes to.
func (s *Store) Bucket() string { return s.bucket }

// Prefix returns the key prefix the store puts in front of every key.
func (s *Store) Prefix() string { return s.prefix }

// PresignPut signs a PUT URL. When size > 0 the signature covers
// Content-Length, so the store itself rejects any other body length. SigV4
// cannot sign a zero Content-Length, so a declared size of 0 is not bound;
// the service measures the real size on completion either way.
func (s *Store) PresignPut(ctx context.Context, key string, size int64, ttl time.Duration) (hashdrop.Secret, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	if size < -1 {
		return "", hashdrop.Errorf(hashdrop.KindInvalid, "negative object size %d", size)
	}
	in := &awss3.PutObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.prefix + key),
	}
	if size >= 0 {
		in.ContentLength = aws.Int64(size)
	}
	req, err := s.presign.PresignPutObject(ctx, in, awss3.WithPresignExpires(ttl))
	if err != nil {
		return "", hashdrop.Internal(fmt.Errorf("s3 presign put %s: %w", key, err))
	}
	if size > 0 && !signsContentLength(req.SignedHeader) {
		// Never hand out an unbounded URL when a bound was asked for.
		return "", hashdrop.Internal(fmt.Errorf("s3 presign put %s: Content-Length was not signed", key))
	}
	return hashdrop.Secret(req.URL), nil
}

// signsContentLength reports whether the presigner put Content-Length among
// the signed headers. (SigV4 signs it only for a positive length.)
func signsContentLength(h http.Header) bool {
	_, ok := h["Content-Length"]
	return ok
}

// PresignGet signs a GET URL (Range requests work on it).
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (hashdrop.Secret, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	req, err := s.presign.PresignGetObject(ctx, &awss3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.prefix + key),
	}, awss3.WithPresignExpires(ttl))
	if err != nil {
		return "", hashdrop.Internal(fmt.Errorf("s3 presign get %s: %w", key, err))
	}
	return hashdrop.Secret(req.URL), nil
}

// Size asks the store (HEAD) for the object's real size.
func (s *Store) Size(ctx context.Context, key string) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	out, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.prefix + key),
	})
	if isNotFound(err) {
		return 0, hashdrop.Errorf(hashdrop.KindNotFound, "object not found")
	}
	if err != nil {
		return 0, hashdrop.Internal(fmt.Errorf("s3 head %s: %w", key, err))
	}
	return aws.ToInt64(out.ContentLength), nil
}

// Delete removes one object; a missing object is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return s.deleteOne(ctx, s.prefix+key)
}

func (s *Store) deleteOne(ctx context.Context, fullKey string) error {
	_, err := s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(fullKey),
	})
	if err != nil && !isNotFound(err) {
		return hashdrop.Internal(fmt.Errorf("s3 delete %s: %w", strings.TrimPrefix(fullKey, s.prefix), err))
	}
	return nil
}

// DeletePrefix removes every object whose key starts with prefix, listing
// page by page and deleting each page (at most 1000 keys) in one
// DeleteObjects call. Stores without DeleteObjects get single deletes.
// An empty prefix is refused: it would empty the whole store.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	if prefix == "" {
		return hashdrop.Errorf(hashdrop.KindInvalid, "refusing to delete with an empty prefix")
	}
	pages := awss3.NewListObjectsV2Paginator(s.client, &awss3.ListObjectsV2Input{
		Bucket:  aws.String(s.bucket),
		Prefix:  aws.String(s.prefix + prefix),
		MaxKeys: aws.Int32(deleteBatch),
	})
	batchDelete := true
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return hashdrop.Internal(fmt.Errorf("s3 list prefix %s: %w", prefix, err))
		}
		keys := make([]string, 0, len(page.Contents))
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		for len(keys) > 0 {
			n := min(len(keys), deleteBatch)
			batch := keys[:n]
			keys = keys[n:]
			if batchDelete {
				err := s.deleteBatch(ctx, batch)
				if isNotImplemented(err) {
					batchDelete = false
				} else if err != nil {
					return hashdrop.Internal(fmt.Errorf("s3 delete prefix %s: %w", prefix, err))
				} else {
					continue
				}
			}
			for _, k := range batch {
				if err := s.deleteOne(ctx, k); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// deleteBatch deletes keys with one DeleteObjects call and turns per-key
// failures (other than already gone) into an error.
func (s *Store) deleteBatch(ctx context.Context, keys []string) error {
	ids := make([]types.ObjectIdentifier, len(keys))
	for i, k := range keys {
		ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
	}
	out, err := s.client.DeleteObjects(ctx, &awss3.DeleteObjectsInput{
		Bucket: aws.String(s.bucket),
		Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
	})
	if err != nil {
		return err
	}
	var failed []string
	for _, e := range out.Errors {
		if aws.ToString(e.Code) == "NoSuchKey" {
			continue
		}
		failed = append(failed, fmt.Sprintf("%s: %s", aws.ToString(e.Key), aws.ToString(e.Code)))
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d objects not deleted (first: %s)", len(failed), len(keys), failed[0])
	}
	return nil
}

func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || len(key) > 900 {
		return hashdrop.Errorf(hashdrop.KindInvalid, "invalid object key")
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return hashdrop.Errorf(hashdrop.KindInvalid, "invalid object key")
		}
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return hashdrop.Errorf(hashdrop.KindInvalid, "invalid object key")
		}
	}
	return nil
}

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 || ttl > maxPresignTTL {
		return hashdrop.Errorf(hashdrop.KindInvalid, "signed URL lifetime %s out of range (0, 7 days]", ttl)
	}
	return nil
}

// isNotFound recognises a missing object however the store says so: the
// typed errors, the bare error code of a HEAD 404, or the status itself.
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	var nf *types.NotFound
	var nsk *types.NoSuchKey
	if errors.As(err, &nf) || errors.As(err, &nsk) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "NotFound" || api.ErrorCode() == "NoSuchKey") {
		return true
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}

// isNotImplemented recognises a store that lacks an operation.
func isNotImplemented(err error) bool {
	if err == nil {
		return false
	}
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "NotImplemented" || api.ErrorCode() == "MethodNotAllowed") {
		return true
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusNotImplemented || re.HTTPStatusCode() == http.StatusMethodNotAllowed)
}
