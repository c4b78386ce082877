// Package signing holds hive's keys and signatures: ed25519 and ECDSA P-256
// keys as PEM files, and sigstore bundles (v0.3 JSON, a messageSignature over
// the exact bytes of a file) made and checked with sigstore's signature
// package.
//
// The package knows nothing of git or of the rest of hive. Every parser here
// reads outside input: each checks the input's size before it parses it, and
// accepts one encoding only.
package signing

import "errors"

// Algorithm names a key type hive accepts.
type Algorithm string

// The key algorithms of hive v1.
const (
	// Ed25519 is pure ed25519 (RFC 8032) over the message.
	Ed25519 Algorithm = "ed25519"
	// ECDSAP256 is ECDSA on NIST P-256 over the SHA-256 of the message,
	// with an ASN.1 DER signature.
	ECDSAP256 Algorithm = "ecdsa-p256"
)

// Size limits, checked before anything is parsed.
const (
	// MaxPublicKeySize is the largest PEM public key file accepted, in bytes.
	MaxPublicKeySize = 4 << 10
	// MaxBundleSize is the largest bundle file accepted, in bytes.
	MaxBundleSize = 16 << 10
)

// Errors returned by this package, wrapped with detail; test with errors.Is.
var (
	// ErrKeyInvalid: not a single well-formed PEM PUBLIC KEY (or PRIVATE KEY) holding a valid key.
	ErrKeyInvalid = errors.New("invalid key")
	// ErrKeyUnsupported: a well-formed key of a type hive does not accept (RSA, P-384, ...).
	ErrKeyUnsupported = errors.New("unsupported key type")
	// ErrKeyWeak: an ed25519 key that is a small-order or non-canonically encoded point.
	ErrKeyWeak = errors.New("weak key")
	// ErrKeyNoncanonical: the file's bytes differ from MarshalPEM of the key they hold.
	ErrKeyNoncanonical = errors.New("non-canonical key encoding")
	// ErrBundleInvalid: a bundle that is malformed or holds something hive does not check.
	ErrBundleInvalid = errors.New("invalid bundle")
	// ErrDigestMismatch: the bundle's digest is not the SHA-256 of the file it is checked against.
	ErrDigestMismatch = errors.New("bundle digest does not match the signed file")
	// ErrSignatureInvalid: the bundle's signature does not verify with the given key.
	ErrSignatureInvalid = errors.New("signature does not verify")
	// ErrExists: a key store already holds a key for the instance.
	ErrExists = errors.New("key already exists")
	// ErrNotFound: a key store holds no key for the instance.
	ErrNotFound = errors.New("key not found")
)

// MediaType is the media type of the bundles Sign writes and ParseBundle accepts.
const MediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
