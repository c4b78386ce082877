package signing

import (
	"bytes"
	"testing"
)

func benchmarkVerify(b *testing.B, alg Algorithm) {
	k := mustGenerate(b, alg)
	msg := bytes.Repeat([]byte("0123456789abcdef"), 64) // 1 KiB
	bundle, err := Sign(k, msg)
	if err != nil {
		b.Fatal(err)
	}
	pub := k.Public()
	b.ReportAllocs()
	for b.Loop() {
		bn, err := ParseBundle(bundle)
		if err != nil {
			b.Fatal(err)
		}
		if err := bn.Verify(pub, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyEd25519 measures ParseBundle and Verify of a 1 KiB message.
func BenchmarkVerifyEd25519(b *testing.B) { benchmarkVerify(b, Ed25519) }

// BenchmarkVerifyECDSAP256 measures ParseBundle and Verify of a 1 KiB message.
func BenchmarkVerifyECDSAP256(b *testing.B) { benchmarkVerify(b, ECDSAP256) }
