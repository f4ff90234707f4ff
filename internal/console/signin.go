package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/errs"
)

// Signing in has no session yet to carry a CSRF token: the form carries a
// random value that a cookie of its own (SameSite=Strict) must match, so
// that no other site can sign a browser in with a token of its choosing.

func (c *Console) signinForm(w http.ResponseWriter, r *http.Request) {
	c.showSignin(w, r, http.StatusOK, "")
}

func (c *Console) showSignin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	nonce, err := auth.RandomString()
	if err != nil {
		c.fail(w, r, page{}, err)
		return
	}
	c.setCookie(w, r, signinCookie, nonce, 30*time.Minute)
	p := page{Title: "Sign in", Nav: "signin", CSRF: nonce, Error: msg}
	if r.URL.Query().Get("signed_out") == "1" && msg == "" {
		p.Notice = "You are signed out."
	}
	c.render(w, r, "signin", status, p)
}

func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ck, err := r.Cookie(signinCookie)
	if err != nil || !sameToken(r.PostFormValue("csrf"), ck.Value) {
		c.fail(w, r, page{}, errCrossSite)
		return
	}
	s, id, err := auth.StartSession(r.Context(), c.db, strings.TrimSpace(r.PostFormValue("token")))
	if errs.KindOf(err) == errs.Unauthorized {
		c.showSignin(w, r, http.StatusUnauthorized, "That token is not valid: it is unknown, revoked or expired, or its account was deleted. Paste the whole token, starting with sis_.")
		return
	}
	if err != nil {
		c.fail(w, r, page{}, err)
		return
	}
	c.setCookie(w, r, signinCookie, "", -time.Second)
	c.setCookie(w, r, sessionCookie, id, 0)
	c.log.InfoContext(r.Context(), "console sign in", "token_id", s.Token.ID, "account", s.Token.AccountID)
	http.Redirect(w, r, "/console/imports", http.StatusSeeOther)
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(sessionCookie)
	if err == nil {
		if err := auth.EndSession(r.Context(), c.db, ck.Value); err != nil {
			c.fail(w, r, c.page(r, ""), err)
			return
		}
	}
	c.setCookie(w, r, sessionCookie, "", -time.Second)
	http.Redirect(w, r, "/console/signin?signed_out=1", http.StatusSeeOther)
}
