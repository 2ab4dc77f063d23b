package credential

import (
	"errors"
	"math/big"
)

// The Bitcoin base58 alphabet, which multibase's "z" prefix names
// (draft-multiformats-multibase, "base58btc").
const b58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

func base58Encode(b []byte) string {
	n := new(big.Int).SetBytes(b)
	radix, mod := big.NewInt(58), new(big.Int)
	var out []byte
	for n.Sign() > 0 {
		n.DivMod(n, radix, mod)
		out = append(out, b58Alphabet[mod.Int64()])
	}
	for _, c := range b {
		if c != 0 {
			break
		}
		out = append(out, b58Alphabet[0])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

var errBase58 = errors.New("credential: not base58")

func base58Decode(s string) ([]byte, error) {
	if len(s) > 256 {
		return nil, errBase58
	}
	n, radix := new(big.Int), big.NewInt(58)
	for i := 0; i < len(s); i++ {
		d := -1
		for j := 0; j < len(b58Alphabet); j++ {
			if b58Alphabet[j] == s[i] {
				d = j
				break
			}
		}
		if d < 0 {
			return nil, errBase58
		}
		n.Mul(n, radix).Add(n, big.NewInt(int64(d)))
	}
	out := n.Bytes()
	zeros := 0
	for zeros < len(s) && s[zeros] == b58Alphabet[0] {
		zeros++
	}
	return append(make([]byte, zeros), out...), nil
}
