# Installs MinIO and nats-server at their pinned versions into GOPATH/bin
# (the first time only; MinIO's build takes a few minutes). Sourced by
# .ci/test and .ci/soak, which start them; sets MINIO, MINIO_VERSION,
# NATS_SERVER and NATS_VERSION.
MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
GOBIN_DIR="$(go env GOPATH)/bin"
MINIO="$GOBIN_DIR/minio"
NATS_MODULE=github.com/nats-io/nats-server/v2
NATS_VERSION=v2.15.2
NATS_SERVER="$GOBIN_DIR/nats-server"

if ! go version -m "$MINIO" 2>/dev/null | grep -q "mod[[:space:]]*$MINIO_MODULE[[:space:]]*$MINIO_VERSION"; then
  echo "== installing MinIO $MINIO_VERSION (first time only, takes a few minutes)"
  GOBIN="$GOBIN_DIR" go install "$MINIO_MODULE@$MINIO_VERSION"
fi
if ! go version -m "$NATS_SERVER" 2>/dev/null | grep -q "mod[[:space:]]*$NATS_MODULE[[:space:]]*$NATS_VERSION"; then
  echo "== installing nats-server $NATS_VERSION (first time only)"
  GOBIN="$GOBIN_DIR" go install "$NATS_MODULE@$NATS_VERSION"
fi
