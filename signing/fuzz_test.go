package signing

import (
	"testing"
)

func FuzzParseBundle(f *testing.F) {
	msg := []byte("fuzz")
	for _, alg := range []Algorithm{Ed25519, ECDSAP256} {
		k := mustGenerate(f, alg)
		b, err := Sign(k, msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add([]byte(`{}`))
	pub := mustEd25519(f, 6).Public()
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			if b != nil {
				t.Fatalf("ParseBundle returned a bundle and %v", err)
			}
			return
		}
		_ = b.Hint()
		_ = b.Digest()
		_ = b.Verify(pub, msg)
	})
}

func FuzzParsePublicKeyPEM(f *testing.F) {
	for _, alg := range []Algorithm{Ed25519, ECDSAP256} {
		f.Add(mustGenerate(f, alg).Public().MarshalPEM())
	}
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePublicKeyPEM(data)
		if err != nil {
			return
		}
		if string(p.MarshalPEM()) != string(data) {
			t.Fatalf("MarshalPEM() = %q, want the parsed bytes %q", p.MarshalPEM(), data)
		}
		q, err := ParsePublicKeyPEM(p.MarshalPEM())
		if err != nil || !q.Equal(p) {
			t.Fatalf("ParsePublicKeyPEM(MarshalPEM()) = %v, want the same key", err)
		}
	})
}
