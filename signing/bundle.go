package signing

import (
	"bytes"
	"crypto/sha256"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/gowebpki/jcs"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

const (
	maxHintSize      = 128
	maxSignatureSize = 512
)

// Sign signs msg, the exact bytes of a file, with k and returns the bundle
// to store next to it: sigstore bundle v0.3 JSON with k's fingerprint as the
// public key hint and a messageSignature holding SHA2_256(msg) and the
// signature sigstore's SignMessage makes (pure ed25519 over msg, or ECDSA
// P-256 ASN.1 DER over SHA-256(msg)).
//
// The bundle is RFC 8785 canonical JSON, so an ed25519 bundle for the same
// key and message is the same bytes every time. (ECDSA signatures are
// randomized.)
func Sign(k *PrivateKey, msg []byte) ([]byte, error) {
	if k == nil {
		return nil, fmt.Errorf("sign: nil key: %w", ErrKeyInvalid)
	}
	sig, err := k.signer.SignMessage(bytes.NewReader(msg))
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	digest := sha256.Sum256(msg)
	pb := &protobundle.Bundle{
		MediaType: MediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{
				PublicKey: &protocommon.PublicKeyIdentifier{Hint: k.public.fingerprint},
			},
		},
		Content: &protobundle.Bundle_MessageSignature{
			MessageSignature: &protocommon.MessageSignature{
				MessageDigest: &protocommon.HashOutput{
					Algorithm: protocommon.HashAlgorithm_SHA2_256,
					Digest:    digest[:],
				},
				Signature: sig,
			},
		},
	}
	j, err := protojson.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("sign: marshal bundle: %w", err)
	}
	out, err := jcs.Transform(j)
	if err != nil {
		return nil, fmt.Errorf("sign: canonicalize bundle: %w", err)
	}
	return out, nil
}

// Bundle is a parsed bundle: the key hint, the SHA-256 digest and the
// signature of one file.
type Bundle struct {
	hint      string
	digest    []byte
	signature []byte
}

// ParseBundle parses a bundle file as hive writes it. It checks the size
// (at most MaxBundleSize bytes) first, then parses strictly (unknown and
// duplicate fields are refused) into sigstore's protobuf Bundle and requires:
// media type v0.3; verification material that is a public key hint of 1 to
// 128 printable ASCII characters, with no transparency log entries and no
// timestamps (hive v1 writes none and checks none); and content that is a
// messageSignature with a 32-byte SHA2_256 digest and a 1 to 512 byte
// signature. Anything else is ErrBundleInvalid.
func ParseBundle(b []byte) (*Bundle, error) {
	if len(b) > MaxBundleSize {
		return nil, fmt.Errorf("bundle of %d bytes exceeds the limit of %d: %w", len(b), MaxBundleSize, ErrBundleInvalid)
	}
	var pb protobundle.Bundle
	if err := (protojson.UnmarshalOptions{}).Unmarshal(b, &pb); err != nil {
		return nil, fmt.Errorf("parse bundle: %v: %w", err, ErrBundleInvalid)
	}
	if pb.MediaType != MediaType {
		return nil, fmt.Errorf("bundle media type %q, want %q: %w", pb.MediaType, MediaType, ErrBundleInvalid)
	}
	vm := pb.GetVerificationMaterial()
	if vm == nil {
		return nil, fmt.Errorf("bundle has no verification material: %w", ErrBundleInvalid)
	}
	pk := vm.GetPublicKey()
	if pk == nil {
		return nil, fmt.Errorf("bundle verification material is not a public key: %w", ErrBundleInvalid)
	}
	hint := pk.GetHint()
	if err := checkHint(hint); err != nil {
		return nil, err
	}
	if n := len(vm.GetTlogEntries()); n != 0 {
		return nil, fmt.Errorf("bundle has %d transparency log entries, hive writes none: %w", n, ErrBundleInvalid)
	}
	if n := len(vm.GetTimestampVerificationData().GetRfc3161Timestamps()); n != 0 {
		return nil, fmt.Errorf("bundle has %d timestamps, hive writes none: %w", n, ErrBundleInvalid)
	}
	ms := pb.GetMessageSignature()
	if ms == nil {
		return nil, fmt.Errorf("bundle content is not a message signature: %w", ErrBundleInvalid)
	}
	md := ms.GetMessageDigest()
	if md == nil {
		return nil, fmt.Errorf("bundle has no message digest: %w", ErrBundleInvalid)
	}
	if md.GetAlgorithm() != protocommon.HashAlgorithm_SHA2_256 {
		return nil, fmt.Errorf("bundle digest algorithm %s, want SHA2_256: %w", md.GetAlgorithm(), ErrBundleInvalid)
	}
	if n := len(md.GetDigest()); n != sha256.Size {
		return nil, fmt.Errorf("bundle digest of %d bytes, want %d: %w", n, sha256.Size, ErrBundleInvalid)
	}
	if n := len(ms.GetSignature()); n < 1 || n > maxSignatureSize {
		return nil, fmt.Errorf("bundle signature of %d bytes, want 1 to %d: %w", n, maxSignatureSize, ErrBundleInvalid)
	}
	return &Bundle{hint: hint, digest: md.GetDigest(), signature: ms.GetSignature()}, nil
}

// checkHint requires 1 to maxHintSize printable ASCII characters: the hint is
// shown in error messages, so it must not carry terminal control sequences.
func checkHint(hint string) error {
	if len(hint) == 0 || len(hint) > maxHintSize {
		return fmt.Errorf("bundle key hint of %d bytes, want 1 to %d: %w", len(hint), maxHintSize, ErrBundleInvalid)
	}
	for i := 0; i < len(hint); i++ {
		if c := hint[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("bundle key hint has byte 0x%02x, want printable ascii: %w", c, ErrBundleInvalid)
		}
	}
	return nil
}

// Hint returns the bundle's public key hint: for bundles hive writes, the
// Fingerprint of the signing key. The hint is not authenticated.
func (b *Bundle) Hint() string { return b.hint }

// Digest returns a copy of the bundle's SHA-256 message digest. The digest is
// not authenticated: Verify checks it against the file.
func (b *Bundle) Digest() []byte { return bytes.Clone(b.digest) }

// Verify checks that b signs msg, the exact bytes of a file, with pub. A
// digest that is not SHA-256(msg) (a bundle copied from another file) is
// ErrDigestMismatch; a signature that does not verify with pub over msg is
// ErrSignatureInvalid. ECDSA signatures must be ASN.1 DER, as Sign writes them.
func (b *Bundle) Verify(pub *PublicKey, msg []byte) error {
	if b == nil || pub == nil {
		return fmt.Errorf("verify: nil bundle or key: %w", ErrSignatureInvalid)
	}
	sum := sha256.Sum256(msg)
	if !bytes.Equal(sum[:], b.digest) {
		return fmt.Errorf("bundle digest %x, file sha256 %x: %w", b.digest, sum[:], ErrDigestMismatch)
	}
	if pub.alg == ECDSAP256 && !isDERSignature(b.signature) {
		return b.signatureError(pub, "ecdsa signature is not asn.1 der")
	}
	if err := pub.verifier.VerifySignature(bytes.NewReader(b.signature), bytes.NewReader(msg)); err != nil {
		return b.signatureError(pub, err.Error())
	}
	return nil
}

// signatureError wraps ErrSignatureInvalid, naming the signing key when the
// hint says it was not pub.
func (b *Bundle) signatureError(pub *PublicKey, detail string) error {
	if b.hint != pub.fingerprint {
		return fmt.Errorf("%s: bundle was signed by key %s, instance key is %s: %w",
			detail, prefix(b.hint, 16), prefix(pub.fingerprint, 16), ErrSignatureInvalid)
	}
	return fmt.Errorf("%s: %w", detail, ErrSignatureInvalid)
}

func prefix(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// isDERSignature reports whether sig is exactly one DER SEQUENCE of two
// INTEGERs. sigstore's ECDSA verifier also takes IEEE P1363 (r||s); hive
// accepts one encoding only.
func isDERSignature(sig []byte) bool {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &rs)
	return err == nil && len(rest) == 0
}
