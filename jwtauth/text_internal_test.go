package jwtauth

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestLoneSurrogate(t *testing.T) {
	tests := []struct {
		name string
		json string
		lone bool
	}{
		{"no escape", `{"a":"b"}`, false},
		{"other escapes", `{"a":"\n\t\"\/\\\u0041\u00e9\uffff"}`, false},
		{"pair", `{"a":"\ud83d\ude00"}`, false},
		{"pair, upper case", `{"a":"\uD83D\uDE00"}`, false},
		{"two pairs", `{"a":"\ud83d\ude00\udbff\udfff"}`, false},
		{"escaped backslash, then u-d800", `{"a":"\\ud800"}`, false},
		{"two escaped backslashes, then u-d800", `{"a":"\\\\ud800"}`, false},
		{"lone high", `{"a":"\ud800"}`, true},
		{"lone high, last in the string", `{"a":"x\udbff"}`, true},
		{"lone low", `{"a":"\udc00"}`, true},
		{"low then high", `{"a":"\udfff\ud800"}`, true},
		{"high then high", `{"a":"\ud800\ud800\udc00"}`, true},
		{"high then a letter escape", `{"a":"\ud800\u0041"}`, true},
		{"high then an escaped backslash", `{"a":"\ud800\\udc00"}`, true},
		{"high then a short escape", `{"a":"\ud800\udc"}`, true},
		{"escaped backslash, then a lone escape", `{"a":"\\\ud800"}`, true},
		{"in a name", `{"\udc00":1}`, true},
		{"bad hex is left to the decoder", `{"a":"\ud8zz"}`, false},
		{"backslash last", `\`, false},
		{"truncated escape", `"\ud8`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.lone, loneSurrogate([]byte(tt.json)))
			// Where encoding/json reads the text, a lone surrogate is
			// exactly what makes it substitute U+FFFD.
			var v map[string]any
			if json.Unmarshal([]byte(tt.json), &v) == nil {
				got := false
				for k, x := range v {
					s, _ := x.(string)
					got = got || strings.ContainsRune(k+s, utf8.RuneError)
				}
				assert.Equal(t, tt.lone, got, "encoding/json's reading")
			}
		})
	}
}

func TestTextOK(t *testing.T) {
	seg := func(s string) string { return b64url([]byte(s)) }
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"ASCII", seg(`{"a":"b"}`) + "." + seg(`{"c":"d"}`) + ".sig", true},
		{"UTF-8", seg(`{"a":"é"}`) + "." + seg(`{"c":"東京"}`) + ".sig", true},
		{"empty segments", "..", true},
		{"invalid UTF-8 in the header", seg("{\"a\":\"\xff\"}") + "." + seg(`{}`) + ".sig", false},
		{"invalid UTF-8 in the claims", seg(`{}`) + "." + seg("{\"a\":\"\xff\"}") + ".sig", false},
		{"lone surrogate in the claims", seg(`{}`) + "." + seg(`{"a":"\udc00"}`) + ".sig", false},
		{"invalid UTF-8 in the signature is not text", seg(`{}`) + "." + seg(`{}`) + "." + seg("\xff"), true},
		{"claims over the stack buffer", seg(`{}`) + "." + seg(`{"a":"`+strings.Repeat("é", 2*stackSegment)+`"}`) + ".sig", true},
		{"invalid UTF-8 over the stack buffer", seg(`{}`) + "." + seg(`{"a":"`+strings.Repeat("a", 2*stackSegment)+"\xff\"}") + ".sig", false},
		{"not base64url", "*." + seg(`{}`) + ".sig", false},
		{"padded", seg(`{}`) + "==." + seg(`{}`) + ".sig", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.ok, textOK(tt.token))
		})
	}
}

func TestTextOKDoesNotAllocate(t *testing.T) {
	token := b64url([]byte(`{"alg":"RS256","kid":"k1","typ":"JWT"}`)) + "." +
		b64url([]byte(`{"iss":"https://idp.example/","aud":"https://api.example","sub":"user-1","name":"\ud83d\ude00 José","exp":1}`)) + ".sig"
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = textOK(token) }))
}
