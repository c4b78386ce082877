package signing

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// sigstoreGoVerify verifies bundle over msg with pub using sigstore-go, the
// way sigstore's own clients verify a key-signed bundle offline.
func sigstoreGoVerify(bundle []byte, pub *PublicKey, msg []byte) error {
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(bundle); err != nil {
		return fmt.Errorf("load bundle: %w", err)
	}
	tm := root.NewTrustedPublicKeyMaterial(func(hint string) (root.TimeConstrainedVerifier, error) {
		if hint != pub.Fingerprint() {
			return nil, fmt.Errorf("no key for hint %q", hint)
		}
		return root.NewExpiringKey(pub.verifier, time.Time{}, time.Time{}), nil
	})
	v, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
	if err != nil {
		return fmt.Errorf("new verifier: %w", err)
	}
	_, err = v.Verify(&b, verify.NewPolicy(verify.WithArtifact(bytes.NewReader(msg)), verify.WithKey()))
	return err
}

func TestSigstoreGoInterop(t *testing.T) {
	msg := []byte(`{"intent":"interop"}`)
	for _, alg := range []Algorithm{Ed25519, ECDSAP256} {
		t.Run(string(alg), func(t *testing.T) {
			k := mustGenerate(t, alg)
			bundle, err := Sign(k, msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := sigstoreGoVerify(bundle, k.Public(), msg); err != nil {
				t.Errorf("sigstore-go Verify(Sign(k, msg)) = %v, want nil", err)
			}
			if err := sigstoreGoVerify(bundle, k.Public(), append(bytes.Clone(msg), ' ')); err == nil {
				t.Errorf("sigstore-go Verify(tampered artifact) = nil, want an error")
			}
			if err := sigstoreGoVerify(flipSignatureByte(t, bundle), k.Public(), msg); err == nil {
				t.Errorf("sigstore-go Verify(flipped signature) = nil, want an error")
			}
			// The bundle sigstore-go loaded re-reads in our strict parser.
			var b sgbundle.Bundle
			if err := b.UnmarshalJSON(bundle); err != nil {
				t.Fatal(err)
			}
			j, err := b.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ParseBundle(j); err != nil {
				t.Errorf("ParseBundle(sigstore-go MarshalJSON) = %v, want nil", err)
			}
		})
	}
}
