# shellcheck shell=bash
# .ci/s3.sh — a real S3-compatible server (versitygw, posix backend) for the
# S3 tests. Source it from .ci/run, then:
#
#   s3_start            # build + start versitygw, create the bucket, export
#   trap s3_stop EXIT   #   HASHDROP_TEST_S3_* and add s3 to HASHDROP_TEST_REQUIRE
#   go test -race ./...
#   s3_stop             # optional when trapped; safe to call twice
#
# The server listens on a free loopback port, keeps its objects in a fresh
# temporary directory, and uses random root keys. Nothing is left behind.

S3_VERSITYGW_VERSION=${S3_VERSITYGW_VERSION:-v1.8.0}
S3_BUCKET=${S3_BUCKET:-hashdrop-test}
S3_REGION=${S3_REGION:-us-east-1}
S3_PID=
S3_DIR=

s3_log() { printf 's3: %s\n' "$*" >&2; }

# s3_free_port prints a loopback TCP port nobody answers on.
s3_free_port() {
	local port tries
	for tries in $(seq 1 200); do
		port=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	s3_log "no free loopback port found"
	return 1
}

s3_random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# s3_status prints the HTTP status of a SigV4-signed request (curl >= 7.75).
s3_status() {
	local method=$1 url=$2
	# The SHA-256 of an empty payload: S3 wants x-amz-content-sha256.
	curl -sS -o /dev/null -w '%{http_code}' -X "$method" \
		--aws-sigv4 "aws:amz:${S3_REGION}:s3" \
		--user "${HASHDROP_TEST_S3_ACCESS_KEY}:${HASHDROP_TEST_S3_SECRET_KEY}" \
		-H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
		"$url"
}

s3_start() {
	command -v go >/dev/null || { s3_log "go not found"; return 1; }
	command -v curl >/dev/null || { s3_log "curl not found (needed to create the bucket)"; return 1; }

	# Every run installs the pinned version; with a warm build cache this is
	# a no-op link check.
	s3_log "go install github.com/versity/versitygw/cmd/versitygw@${S3_VERSITYGW_VERSION}"
	go install "github.com/versity/versitygw/cmd/versitygw@${S3_VERSITYGW_VERSION}" || return 1
	local bin
	bin="$(go env GOBIN)"
	[ -n "$bin" ] || bin="$(go env GOPATH | cut -d: -f1)/bin"
	bin="$bin/versitygw"
	[ -x "$bin" ] || { s3_log "$bin missing after go install"; return 1; }

	S3_DIR="$(mktemp -d "${TMPDIR:-/tmp}/hashdrop-s3.XXXXXX")" || return 1
	mkdir -p "$S3_DIR/data"
	local port
	port="$(s3_free_port)" || { s3_stop; return 1; }
	export HASHDROP_TEST_S3_ENDPOINT="http://127.0.0.1:${port}"
	export HASHDROP_TEST_S3_BUCKET="$S3_BUCKET"
	export HASHDROP_TEST_S3_REGION="$S3_REGION"
	export HASHDROP_TEST_S3_ACCESS_KEY="hd$(s3_random_hex 8)"
	export HASHDROP_TEST_S3_SECRET_KEY="$(s3_random_hex 24)"

	# Keys through the environment, not argv, so ps does not show them.
	ROOT_ACCESS_KEY="$HASHDROP_TEST_S3_ACCESS_KEY" ROOT_SECRET_KEY="$HASHDROP_TEST_S3_SECRET_KEY" \
		"$bin" --port "127.0.0.1:${port}" --region "$S3_REGION" --quiet \
		posix "$S3_DIR/data" >"$S3_DIR/versitygw.log" 2>&1 &
	S3_PID=$!

	local i code
	for i in $(seq 1 100); do
		if ! kill -0 "$S3_PID" 2>/dev/null; then
			s3_log "versitygw exited during start-up:"
			cat "$S3_DIR/versitygw.log" >&2
			S3_PID=
			s3_stop
			return 1
		fi
		code="$(curl -s -o /dev/null -w '%{http_code}' "$HASHDROP_TEST_S3_ENDPOINT/" || true)"
		[ "$code" != "000" ] && break
		sleep 0.1
	done
	if [ "$code" = "000" ]; then
		s3_log "versitygw did not answer on $HASHDROP_TEST_S3_ENDPOINT"
		s3_stop
		return 1
	fi

	code="$(s3_status PUT "$HASHDROP_TEST_S3_ENDPOINT/$S3_BUCKET")"
	if [ "$code" != 200 ]; then
		s3_log "create bucket $S3_BUCKET: HTTP $code"
		cat "$S3_DIR/versitygw.log" >&2
		s3_stop
		return 1
	fi

	case ",${HASHDROP_TEST_REQUIRE:-}," in
	*,s3,*) ;;
	,,) export HASHDROP_TEST_REQUIRE=s3 ;;
	*) export HASHDROP_TEST_REQUIRE="${HASHDROP_TEST_REQUIRE},s3" ;;
	esac
	s3_log "versitygw ${S3_VERSITYGW_VERSION} (pid $S3_PID) on $HASHDROP_TEST_S3_ENDPOINT, bucket $S3_BUCKET"
}

s3_stop() {
	if [ -n "$S3_PID" ]; then
		kill "$S3_PID" 2>/dev/null
		wait "$S3_PID" 2>/dev/null
		S3_PID=
	fi
	if [ -n "$S3_DIR" ]; then
		rm -rf "$S3_DIR"
		S3_DIR=
	fi
	return 0
}
