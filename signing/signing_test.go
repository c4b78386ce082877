package signing

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

// testSeed makes the deterministic keys of these tests.
func testSeed(b byte) []byte { return bytes.Repeat([]byte{b}, ed25519.SeedSize) }

func mustEd25519(t testing.TB, b byte) *PrivateKey {
	t.Helper()
	k, err := NewEd25519FromSeed(testSeed(b))
	if err != nil {
		t.Fatalf("NewEd25519FromSeed = %v", err)
	}
	return k
}

func mustGenerate(t testing.TB, alg Algorithm) *PrivateKey {
	t.Helper()
	k, err := Generate(alg, nil)
	if err != nil {
		t.Fatalf("Generate(%s) = %v", alg, err)
	}
	return k
}

func TestSignVerify(t *testing.T) {
	msgA := []byte(`{"intent":"a"}`)
	msgB := []byte(`{"intent":"b"}`)
	for _, alg := range []Algorithm{Ed25519, ECDSAP256} {
		t.Run(string(alg), func(t *testing.T) {
			k := mustGenerate(t, alg)
			other := mustGenerate(t, alg)
			if got := k.Algorithm(); got != alg {
				t.Errorf("Algorithm() = %s, want %s", got, alg)
			}
			sigA, err := Sign(k, msgA)
			if err != nil {
				t.Fatalf("Sign = %v", err)
			}
			sigOther, err := Sign(other, msgA)
			if err != nil {
				t.Fatalf("Sign = %v", err)
			}
			b, err := ParseBundle(sigA)
			if err != nil {
				t.Fatalf("ParseBundle(Sign(k, msgA)) = %v", err)
			}
			if got, want := b.Hint(), k.Public().Fingerprint(); got != want {
				t.Errorf("Hint() = %s, want %s", got, want)
			}
			if got, want := b.Digest(), sha256.Sum256(msgA); !bytes.Equal(got, want[:]) {
				t.Errorf("Digest() = %x, want %x", got, want)
			}
			flipped := flipSignatureByte(t, sigA)

			tests := []struct {
				name   string
				bundle []byte
				pub    *PublicKey
				msg    []byte
				want   error
			}{
				{"valid", sigA, k.Public(), msgA, nil},
				{"tampered message", sigA, k.Public(), append(bytes.Clone(msgA), ' '), ErrDigestMismatch},
				{"bundle of another message", sigA, k.Public(), msgB, ErrDigestMismatch},
				{"signed by another key", sigOther, k.Public(), msgA, ErrSignatureInvalid},
				{"right signature, wrong key given", sigA, other.Public(), msgA, ErrSignatureInvalid},
				{"flipped signature byte", flipped, k.Public(), msgA, ErrSignatureInvalid},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					b, err := ParseBundle(tt.bundle)
					if err != nil {
						t.Fatalf("ParseBundle = %v", err)
					}
					err = b.Verify(tt.pub, tt.msg)
					if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
						t.Errorf("Verify(%s) = %v, want %v", tt.name, err, tt.want)
					}
				})
			}
			t.Run("hint named in error", func(t *testing.T) {
				b, _ := ParseBundle(sigOther)
				err := b.Verify(k.Public(), msgA)
				want := "bundle was signed by key " + other.Public().Fingerprint()[:16] + ", instance key is " + k.Public().Fingerprint()[:16]
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("Verify(other's bundle) = %v, want it to contain %q", err, want)
				}
			})
		})
	}
}

// flipSignatureByte returns bundle with one bit of its signature's last byte
// flipped, in canonical form again.
func flipSignatureByte(t testing.TB, bundle []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(bundle, &m); err != nil {
		t.Fatal(err)
	}
	ms := m["messageSignature"].(map[string]any)
	sig, err := base64.StdEncoding.DecodeString(ms["signature"].(string))
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)-1] ^= 0x01
	ms["signature"] = base64.StdEncoding.EncodeToString(sig)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSignDeterministic(t *testing.T) {
	msg := []byte("the exact bytes of a trace\n")
	k := mustEd25519(t, 1)
	b1, err := Sign(k, msg)
	if err != nil {
		t.Fatal(err)
	}
	k2 := mustEd25519(t, 1) // a fresh key from the same seed
	b2, err := Sign(k2, msg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Errorf("Sign twice = %s and %s, want the same bytes", b1, b2)
	}
	// The wire format: canonical JSON with the fields sigstore expects.
	var m struct {
		MediaType            string `json:"mediaType"`
		VerificationMaterial struct {
			PublicKey struct {
				Hint string `json:"hint"`
			} `json:"publicKey"`
		} `json:"verificationMaterial"`
		MessageSignature struct {
			MessageDigest struct {
				Algorithm string `json:"algorithm"`
				Digest    []byte `json:"digest"`
			} `json:"messageDigest"`
			Signature []byte `json:"signature"`
		} `json:"messageSignature"`
	}
	if err := json.Unmarshal(b1, &m); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(msg)
	if m.MediaType != MediaType ||
		m.VerificationMaterial.PublicKey.Hint != k.Public().Fingerprint() ||
		m.MessageSignature.MessageDigest.Algorithm != "SHA2_256" ||
		!bytes.Equal(m.MessageSignature.MessageDigest.Digest, sum[:]) ||
		!ed25519.Verify(ed25519.PublicKey(k.Public().key.(ed25519.PublicKey)), msg, m.MessageSignature.Signature) {
		t.Errorf("Sign = %s, want a v0.3 bundle with hint, SHA2_256 digest and pure ed25519 signature", b1)
	}
	if bytes.ContainsAny(b1, " \n") {
		t.Errorf("Sign = %s, want canonical JSON without whitespace", b1)
	}
}

func TestParseBundle(t *testing.T) {
	k := mustEd25519(t, 2)
	valid, err := Sign(k, []byte("msg"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(valid)
	hint := k.Public().Fingerprint()
	digest := base64.StdEncoding.EncodeToString(func() []byte { d := sha256.Sum256([]byte("msg")); return d[:] }())
	sig := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 64))
	// build assembles a bundle from its parts, to vary one at a time.
	build := func(mediaType, vm, content string) string {
		return `{"mediaType":"` + mediaType + `","verificationMaterial":` + vm + `,` + content + `}`
	}
	goodVM := `{"publicKey":{"hint":"` + hint + `"}}`
	goodContent := `"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"` + digest + `"},"signature":"` + sig + `"}`

	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"valid", s, true},
		{"built valid", build(MediaType, goodVM, goodContent), true},
		{"oversize", s + strings.Repeat(" ", MaxBundleSize), false},
		{"not JSON", "not json", false},
		{"empty", "", false},
		{"unknown field", strings.Replace(s, `{"mediaType"`, `{"extra":1,"mediaType"`, 1), false},
		{"duplicate field", strings.Replace(s, `{"mediaType":"`+MediaType+`"`, `{"mediaType":"`+MediaType+`","mediaType":"`+MediaType+`"`, 1), false},
		{"media type v0.1", build("application/vnd.dev.sigstore.bundle+json;version=0.1", goodVM, goodContent), false},
		{"media type v0.2", build("application/vnd.dev.sigstore.bundle+json;version=0.2", goodVM, goodContent), false},
		{"media type v0.4", build("application/vnd.dev.sigstore.bundle.v0.4+json", goodVM, goodContent), false},
		{"no verification material", `{"mediaType":"` + MediaType + `",` + goodContent + `}`, false},
		{"certificate material", build(MediaType, `{"certificate":{"rawBytes":"MIIB"}}`, goodContent), false},
		{"certificate chain material", build(MediaType, `{"x509CertificateChain":{"certificates":[{"rawBytes":"MIIB"}]}}`, goodContent), false},
		{"empty hint", build(MediaType, `{"publicKey":{"hint":""}}`, goodContent), false},
		{"no hint", build(MediaType, `{"publicKey":{}}`, goodContent), false},
		{"long hint", build(MediaType, `{"publicKey":{"hint":"`+strings.Repeat("a", 129)+`"}}`, goodContent), false},
		{"hint with control character", build(MediaType, `{"publicKey":{"hint":"ab\u001b[31m"}}`, goodContent), false},
		{"tlog entries", build(MediaType, `{"publicKey":{"hint":"`+hint+`"},"tlogEntries":[{"logIndex":"1","logId":{"keyId":"AA=="},"kindVersion":{"kind":"hashedrekord","version":"0.0.1"},"integratedTime":"1","canonicalizedBody":"AA=="}]}`, goodContent), false},
		{"timestamps", build(MediaType, `{"publicKey":{"hint":"`+hint+`"},"timestampVerificationData":{"rfc3161Timestamps":[{"signedTimestamp":"AA=="}]}}`, goodContent), false},
		{"digest algorithm SHA2_384", build(MediaType, goodVM, strings.Replace(goodContent, "SHA2_256", "SHA2_384", 1)), false},
		{"digest algorithm unspecified", build(MediaType, goodVM, strings.Replace(goodContent, `"algorithm":"SHA2_256",`, "", 1)), false},
		{"digest of wrong length", build(MediaType, goodVM, strings.Replace(goodContent, digest, base64.StdEncoding.EncodeToString(make([]byte, 31)), 1)), false},
		{"no digest", build(MediaType, goodVM, `"messageSignature":{"signature":"`+sig+`"}`), false},
		{"empty signature", build(MediaType, goodVM, strings.Replace(goodContent, sig, "", 1)), false},
		{"oversize signature", build(MediaType, goodVM, strings.Replace(goodContent, sig, base64.StdEncoding.EncodeToString(make([]byte, 513)), 1)), false},
		{"no content", `{"mediaType":"` + MediaType + `","verificationMaterial":` + goodVM + `}`, false},
		{"DSSE envelope", build(MediaType, goodVM, `"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"`+sig+`","keyid":""}]}`), false},
		{"trailing data", s + "{}", false},
		{"null", "null", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseBundle([]byte(tt.in))
			switch {
			case tt.ok && err != nil:
				t.Errorf("ParseBundle(%.80s) = %v, want nil", tt.in, err)
			case !tt.ok && !errors.Is(err, ErrBundleInvalid):
				t.Errorf("ParseBundle(%.80s) = %v, want %v", tt.in, err, ErrBundleInvalid)
			case !tt.ok && b != nil:
				t.Errorf("ParseBundle(%.80s) returned a bundle with error %v", tt.in, err)
			}
		})
	}
}

// pemOf encodes der as a PUBLIC KEY block.
func pemOf(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func spki(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// rewrap re-encodes a PEM block's base64 with lines of n characters.
func rewrap(t testing.TB, p []byte, n int) []byte {
	t.Helper()
	block, _ := pem.Decode(p)
	b64 := base64.StdEncoding.EncodeToString(block.Bytes)
	var out strings.Builder
	out.WriteString("-----BEGIN " + block.Type + "-----\n")
	for len(b64) > n {
		out.WriteString(b64[:n] + "\n")
		b64 = b64[n:]
	}
	out.WriteString(b64 + "\n-----END " + block.Type + "-----\n")
	return []byte(out.String())
}

// smallOrderEd25519 returns every 32-byte encoding of a point of small order
// on edwards25519, and whether it is canonical: the y-coordinates of the 8
// torsion points (libsodium's blocklist, which includes the unreduced y = p
// and y = p+1) each with the sign bit clear and set.
func smallOrderEd25519(t testing.TB) (encodings [][]byte, canonical []bool) {
	ys := []struct {
		hex       string
		canonical [2]bool // sign bit clear, set
	}{
		{"0000000000000000000000000000000000000000000000000000000000000000", [2]bool{true, true}},   // y = 0, order 4
		{"0100000000000000000000000000000000000000000000000000000000000000", [2]bool{true, false}},  // identity; x = 0
		{"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", [2]bool{true, true}},   // order 8
		{"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", [2]bool{true, true}},   // order 8
		{"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", [2]bool{true, false}},  // y = -1, order 2; x = 0
		{"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", [2]bool{false, false}}, // y = p (0 unreduced)
		{"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", [2]bool{false, false}}, // y = p+1 (1 unreduced)
	}
	for _, y := range ys {
		b, err := hex.DecodeString(y.hex)
		if err != nil {
			t.Fatal(err)
		}
		neg := bytes.Clone(b)
		neg[31] |= 0x80
		encodings = append(encodings, b, neg)
		canonical = append(canonical, y.canonical[0], y.canonical[1])
	}
	return encodings, canonical
}

func TestParsePublicKeyPEM(t *testing.T) {
	ed := mustEd25519(t, 3).Public().MarshalPEM()
	p256 := mustGenerate(t, ECDSAP256).Public().MarshalPEM()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privPEM, err := mustEd25519(t, 3).MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	// A P-256 point off the curve: the last byte of y changed.
	offCurve := bytes.Clone(spki(t, mustGenerate(t, ECDSAP256).Public().key))
	offCurve[len(offCurve)-1] ^= 0x01
	withHeaders := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{"Comment": "x"}, Bytes: spki(t, mustEd25519(t, 3).Public().key)})

	tests := []struct {
		name string
		in   []byte
		want error // nil: valid
	}{
		{"ed25519", ed, nil},
		{"p-256", p256, nil},
		{"rsa-2048", pemOf(spki(t, &rsaKey.PublicKey)), ErrKeyUnsupported},
		{"p-384", pemOf(spki(t, &p384.PublicKey)), ErrKeyUnsupported},
		{"garbage", []byte("garbage"), ErrKeyInvalid},
		{"empty", nil, ErrKeyInvalid},
		{"oversize", append(bytes.Clone(ed), bytes.Repeat([]byte("\n"), MaxPublicKeySize)...), ErrKeyInvalid},
		{"two PEM blocks", append(bytes.Clone(ed), p256...), ErrKeyInvalid},
		{"trailing data", append(bytes.Clone(ed), "x"...), ErrKeyInvalid},
		{"extra newline", append(bytes.Clone(ed), '\n'), ErrKeyInvalid},
		{"leading data", append([]byte("x\n"), ed...), ErrKeyInvalid},
		{"PEM with headers", withHeaders, ErrKeyInvalid},
		{"PRIVATE KEY block", privPEM, ErrKeyInvalid},
		{"DER not PKIX", pemOf([]byte{0x30, 0x03, 0x02, 0x01, 0x01}), ErrKeyInvalid},
		{"p-256 point not on curve", pemOf(offCurve), ErrKeyInvalid},
		{"different line wrapping", rewrap(t, p256, 76), ErrKeyNoncanonical},
		{"ed25519 split lines", rewrap(t, ed, 40), ErrKeyNoncanonical},
		{"CRLF line endings", bytes.ReplaceAll(ed, []byte("\n"), []byte("\r\n")), ErrKeyNoncanonical},
		{"no final newline", ed[:len(ed)-1], ErrKeyNoncanonical},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePublicKeyPEM(tt.in)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("ParsePublicKeyPEM(%.40q) = %v, want %v", tt.in, err, tt.want)
			}
			if err == nil && !bytes.Equal(p.MarshalPEM(), tt.in) {
				t.Errorf("MarshalPEM() = %q, want %q", p.MarshalPEM(), tt.in)
			}
		})
	}

	encodings, canonical := smallOrderEd25519(t)
	for i, enc := range encodings {
		t.Run("small order "+hex.EncodeToString(enc), func(t *testing.T) {
			_, err := ParsePublicKeyPEM(pemOf(spki(t, ed25519.PublicKey(enc))))
			ok := errors.Is(err, ErrKeyWeak)
			if !canonical[i] {
				ok = ok || errors.Is(err, ErrKeyNoncanonical)
			}
			if !ok {
				t.Errorf("ParsePublicKeyPEM(small order %x) = %v, want %v", enc, err, ErrKeyWeak)
			}
		})
	}
}

func TestPublicKey(t *testing.T) {
	for _, alg := range []Algorithm{Ed25519, ECDSAP256} {
		t.Run(string(alg), func(t *testing.T) {
			k := mustGenerate(t, alg)
			pub := k.Public()
			p, err := ParsePublicKeyPEM(pub.MarshalPEM())
			if err != nil {
				t.Fatalf("ParsePublicKeyPEM(MarshalPEM()) = %v", err)
			}
			if !p.Equal(pub) {
				t.Errorf("Equal(parsed) = false, want true")
			}
			if p.Equal(mustGenerate(t, alg).Public()) {
				t.Errorf("Equal(another key) = true, want false")
			}
			if got := p.Algorithm(); got != alg {
				t.Errorf("Algorithm() = %s, want %s", got, alg)
			}
			sum := sha256.Sum256(spki(t, pub.key))
			if got, want := p.Fingerprint(), hex.EncodeToString(sum[:]); got != want {
				t.Errorf("Fingerprint() = %s, want %s", got, want)
			}
			privPEM, err := k.MarshalPEM()
			if err != nil {
				t.Fatal(err)
			}
			k2, err := ParsePrivateKeyPEM(privPEM)
			if err != nil {
				t.Fatalf("ParsePrivateKeyPEM(MarshalPEM()) = %v", err)
			}
			if !k2.Public().Equal(pub) || k2.Algorithm() != alg {
				t.Errorf("ParsePrivateKeyPEM(MarshalPEM()) = key %s, want %s", k2.Public().Fingerprint(), pub.Fingerprint())
			}
		})
	}
}

func TestParsePrivateKeyPEM(t *testing.T) {
	good, err := mustEd25519(t, 4).MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaDER, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"ed25519", good, nil},
		{"rsa", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER}), ErrKeyUnsupported},
		{"public key block", mustEd25519(t, 4).Public().MarshalPEM(), ErrKeyInvalid},
		{"trailing data", append(bytes.Clone(good), 'x'), ErrKeyInvalid},
		{"garbage", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), ErrKeyInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePrivateKeyPEM(tt.in)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("ParsePrivateKeyPEM(%s) = %v, want %v", tt.name, err, tt.want)
			}
		})
	}
}

func TestGenerateUnsupported(t *testing.T) {
	if _, err := Generate("rsa", nil); !errors.Is(err, ErrKeyUnsupported) {
		t.Errorf("Generate(rsa) = %v, want %v", err, ErrKeyUnsupported)
	}
	if _, err := NewEd25519FromSeed(make([]byte, 31)); !errors.Is(err, ErrKeyInvalid) {
		t.Errorf("NewEd25519FromSeed(31 bytes) = %v, want %v", err, ErrKeyInvalid)
	}
}
