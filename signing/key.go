package signing

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"

	"filippo.io/edwards25519"
	"github.com/sigstore/sigstore/pkg/signature"
)

const (
	pemPublicKey  = "PUBLIC KEY"
	pemPrivateKey = "PRIVATE KEY"
	// maxPrivateKeySize bounds a PEM private key file; hive's are under 300 bytes.
	maxPrivateKeySize = 4 << 10
)

var (
	oidEd25519     = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidP256        = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
)

// PublicKey is a validated ed25519 or ECDSA P-256 public key, ready to verify.
type PublicKey struct {
	alg         Algorithm
	key         crypto.PublicKey // ed25519.PublicKey or *ecdsa.PublicKey
	der         []byte           // PKIX SubjectPublicKeyInfo
	pem         []byte           // canonical PEM of der
	fingerprint string
	verifier    signature.Verifier
}

// ParsePublicKeyPEM parses a PEM public key file as hive registers it: at most
// MaxPublicKeySize bytes holding exactly one "PUBLIC KEY" block, without
// headers or other bytes, whose PKIX DER is an ed25519 or ECDSA P-256 key, and
// whose bytes are exactly what MarshalPEM writes for that key.
//
// A malformed file is ErrKeyInvalid, another key type ErrKeyUnsupported, an
// ed25519 small-order or non-canonically encoded point ErrKeyWeak, and a valid
// key in another encoding (line wrapping, line endings) ErrKeyNoncanonical.
func ParsePublicKeyPEM(b []byte) (*PublicKey, error) {
	if len(b) > MaxPublicKeySize {
		return nil, fmt.Errorf("public key of %d bytes exceeds the limit of %d: %w", len(b), MaxPublicKeySize, ErrKeyInvalid)
	}
	der, err := decodeSinglePEM(b, pemPublicKey)
	if err != nil {
		return nil, err
	}
	p, err := parsePublicKeyDER(der)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(b, p.pem) {
		return nil, fmt.Errorf("public key PEM differs from its canonical form: %w", ErrKeyNoncanonical)
	}
	return p, nil
}

// decodeSinglePEM returns the bytes of b's only PEM block, which must have
// type typ, no headers, and nothing before or after it but the line ending
// of its last line.
func decodeSinglePEM(b []byte, typ string) ([]byte, error) {
	if !bytes.HasPrefix(b, []byte("-----BEGIN ")) {
		return nil, fmt.Errorf("not a PEM block: %w", ErrKeyInvalid)
	}
	block, rest := pem.Decode(b)
	switch {
	case block == nil:
		return nil, fmt.Errorf("malformed PEM: %w", ErrKeyInvalid)
	case block.Type != typ:
		return nil, fmt.Errorf("PEM block of type %q, want %q: %w", block.Type, typ, ErrKeyInvalid)
	case len(block.Headers) != 0:
		return nil, fmt.Errorf("PEM block has headers: %w", ErrKeyInvalid)
	case len(rest) != 0:
		return nil, fmt.Errorf("%d bytes after the PEM block: %w", len(rest), ErrKeyInvalid)
	}
	return block.Bytes, nil
}

// subjectPublicKeyInfo is the outer structure of a PKIX public key, read to
// tell an unsupported key type from a malformed key.
type subjectPublicKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// parsePublicKeyDER validates a PKIX public key and builds its verifier.
func parsePublicKeyDER(der []byte) (*PublicKey, error) {
	var spki subjectPublicKeyInfo
	rest, err := asn1.Unmarshal(der, &spki)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %v: %w", err, ErrKeyInvalid)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("parse public key: trailing data: %w", ErrKeyInvalid)
	}
	switch alg := spki.Algorithm.Algorithm; {
	case alg.Equal(oidEd25519):
	case alg.Equal(oidECPublicKey):
		var curve asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(spki.Algorithm.Parameters.FullBytes, &curve); err != nil {
			return nil, fmt.Errorf("parse public key: ecdsa curve: %v: %w", err, ErrKeyInvalid)
		}
		if !curve.Equal(oidP256) {
			return nil, fmt.Errorf("ecdsa key on curve %v, want P-256: %w", curve, ErrKeyUnsupported)
		}
	default:
		return nil, fmt.Errorf("public key algorithm %v: %w", alg, ErrKeyUnsupported)
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %v: %w", err, ErrKeyInvalid)
	}
	return newPublicKey(key)
}

// newPublicKey validates key and builds its canonical encodings and verifier.
func newPublicKey(key crypto.PublicKey) (*PublicKey, error) {
	p := &PublicKey{key: key}
	var err error
	switch k := key.(type) {
	case ed25519.PublicKey:
		if err := checkEd25519Point(k); err != nil {
			return nil, err
		}
		p.alg = Ed25519
		p.verifier, err = signature.LoadED25519Verifier(k)
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ecdsa key on curve %s, want P-256: %w", k.Curve.Params().Name, ErrKeyUnsupported)
		}
		// ECDH validates the point: on the curve, not the identity.
		if _, err := k.ECDH(); err != nil {
			return nil, fmt.Errorf("ecdsa public key: %v: %w", err, ErrKeyInvalid)
		}
		p.alg = ECDSAP256
		p.verifier, err = signature.LoadECDSAVerifier(k, crypto.SHA256)
	default:
		return nil, fmt.Errorf("public key of type %T: %w", key, ErrKeyUnsupported)
	}
	if err != nil {
		return nil, fmt.Errorf("load verifier: %v: %w", err, ErrKeyInvalid)
	}
	p.der, err = x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %v: %w", err, ErrKeyInvalid)
	}
	p.pem = pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: p.der})
	sum := sha256.Sum256(p.der)
	p.fingerprint = hex.EncodeToString(sum[:])
	return p, nil
}

// checkEd25519Point refuses an ed25519 public key that is not a canonical
// encoding of a point of large order. A small-order key makes signatures that
// verify for every message; a non-canonical encoding gives one key two names.
func checkEd25519Point(k ed25519.PublicKey) error {
	if len(k) != ed25519.PublicKeySize {
		return fmt.Errorf("ed25519 public key of %d bytes: %w", len(k), ErrKeyInvalid)
	}
	pt, err := new(edwards25519.Point).SetBytes(k)
	if err != nil {
		return fmt.Errorf("ed25519 public key is not a point on the curve: %w", ErrKeyInvalid)
	}
	if !bytes.Equal(pt.Bytes(), k) {
		return fmt.Errorf("ed25519 public key is a non-canonical point encoding: %w", ErrKeyWeak)
	}
	if new(edwards25519.Point).MultByCofactor(pt).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return fmt.Errorf("ed25519 public key is a small-order point: %w", ErrKeyWeak)
	}
	return nil
}

// MarshalPEM returns the canonical PEM encoding of p: one "PUBLIC KEY" block
// of PKIX DER, lines of 64 characters, each ending in "\n".
func (p *PublicKey) MarshalPEM() []byte { return bytes.Clone(p.pem) }

// Algorithm returns p's key type.
func (p *PublicKey) Algorithm() Algorithm { return p.alg }

// Fingerprint returns the lowercase hex SHA-256 of p's DER SubjectPublicKeyInfo.
// Sign writes it as the bundle's key hint.
func (p *PublicKey) Fingerprint() string { return p.fingerprint }

// Equal reports whether p and q are the same key. Two nil keys are equal.
func (p *PublicKey) Equal(q *PublicKey) bool {
	if p == nil || q == nil {
		return p == q
	}
	return bytes.Equal(p.der, q.der)
}

// PrivateKey is an ed25519 or ECDSA P-256 private key, ready to sign.
type PrivateKey struct {
	key    crypto.Signer // ed25519.PrivateKey or *ecdsa.PrivateKey
	signer signature.Signer
	public *PublicKey
}

// Generate returns a new key of type alg. rand is the source of randomness;
// nil means crypto/rand. (Since Go 1.26 the standard library may ignore it
// and use a secure source anyway.)
func Generate(alg Algorithm, rand io.Reader) (*PrivateKey, error) {
	if rand == nil {
		rand = cryptoRand
	}
	switch alg {
	case Ed25519:
		_, priv, err := ed25519.GenerateKey(rand)
		if err != nil {
			return nil, fmt.Errorf("generate ed25519 key: %w", err)
		}
		return newPrivateKey(priv)
	case ECDSAP256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand)
		if err != nil {
			return nil, fmt.Errorf("generate ecdsa p-256 key: %w", err)
		}
		return newPrivateKey(priv)
	default:
		return nil, fmt.Errorf("generate key of algorithm %q: %w", alg, ErrKeyUnsupported)
	}
}

var cryptoRand = rand.Reader

// NewEd25519FromSeed returns the ed25519 key of a 32-byte seed (RFC 8032),
// for deterministic fixtures. Keep real seeds secret.
func NewEd25519FromSeed(seed []byte) (*PrivateKey, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("ed25519 seed of %d bytes, want %d: %w", len(seed), ed25519.SeedSize, ErrKeyInvalid)
	}
	return newPrivateKey(ed25519.NewKeyFromSeed(seed))
}

// ParsePrivateKeyPEM parses a private key as MarshalPEM writes it: exactly one
// PEM "PRIVATE KEY" block (PKCS#8) without headers or other bytes, holding an
// ed25519 or ECDSA P-256 key.
func ParsePrivateKeyPEM(b []byte) (*PrivateKey, error) {
	if len(b) > maxPrivateKeySize {
		return nil, fmt.Errorf("private key of %d bytes exceeds the limit of %d: %w", len(b), maxPrivateKeySize, ErrKeyInvalid)
	}
	der, err := decodeSinglePEM(b, pemPrivateKey)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %v: %w", err, ErrKeyInvalid)
	}
	return newPrivateKey(key)
}

// newPrivateKey builds the signer and validated public key of key.
func newPrivateKey(key any) (*PrivateKey, error) {
	k := &PrivateKey{}
	var err error
	switch priv := key.(type) {
	case ed25519.PrivateKey:
		k.key = priv
		k.signer, err = signature.LoadED25519SignerVerifier(priv)
	case *ecdsa.PrivateKey:
		if priv.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ecdsa key on curve %s, want P-256: %w", priv.Curve.Params().Name, ErrKeyUnsupported)
		}
		k.key = priv
		k.signer, err = signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	default:
		return nil, fmt.Errorf("private key of type %T: %w", key, ErrKeyUnsupported)
	}
	if err != nil {
		return nil, fmt.Errorf("load signer: %v: %w", err, ErrKeyInvalid)
	}
	if k.public, err = newPublicKey(k.key.Public()); err != nil {
		return nil, err
	}
	return k, nil
}

// MarshalPEM returns k as one unencrypted PKCS#8 "PRIVATE KEY" PEM block.
func (k *PrivateKey) MarshalPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// Public returns k's public key.
func (k *PrivateKey) Public() *PublicKey { return k.public }

// Algorithm returns k's key type.
func (k *PrivateKey) Algorithm() Algorithm { return k.public.alg }
