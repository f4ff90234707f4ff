package importer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/keyset"
)

// userRow is one row of a users file (Canvas's users.csv), as validated.
// An empty optional cell keeps the stored value; "<delete>" clears it.
type userRow struct {
	UserID string `csv:"user_id" validate:"max=255"` // required unless users are matched on another column
	// LoginID and Status are required of a new user; an empty cell keeps a
	// matched user's (decide, docs/import-rules.md#users-files).
	LoginID       string `csv:"login_id" validate:"max=255"`
	Status        string `csv:"status,lower" validate:"omitempty,oneof=active suspended deleted"`
	IntegrationID string `csv:"integration_id" validate:"max=255"`
	Password      string `csv:"password" validate:"max=1024"`
	SSHAPassword  string `csv:"ssha_password" validate:"max=1024"`
	FirstName     string `csv:"first_name" validate:"max=255"`
	LastName      string `csv:"last_name" validate:"max=255"`
	FullName      string `csv:"full_name" validate:"max=255"`
	SortableName  string `csv:"sortable_name" validate:"max=255"`
	ShortName     string `csv:"short_name" validate:"max=255"`
	Email         string `csv:"email" validate:"omitempty,max=255,eq=<delete>|sis_email"`
	Pronouns      string `csv:"pronouns" validate:"max=255"`
	AccountID     string `csv:"account_id" validate:"max=255"` // the home account: an SIS id or id inside the import's account
	// Of the login: the kind of user the SIS declares, and the
	// authentication provider, kept as given (there are no providers here).
	DeclaredUserType string `csv:"declared_user_type,lower" validate:"omitempty,oneof=administrative observer staff student student_other teacher <delete>"`
	AuthProvider     string `csv:"authentication_provider_id" validate:"max=255"`
	// Read without effect (docs/import-rules.md#the-users-file): this service
	// sends no email and has one root account.
	PasswordNotification string `csv:"canvas_password_notification" validate:"max=255"`
	HomeAccount          string `csv:"home_account" validate:"max=255"`
	// OldLoginID renames: with allow_renames, a row matched on login_id
	// finds its user by this login and gives it login_id (Moodle's
	// oldusername; docs/import-rules.md#user-options).
	OldLoginID string `csv:"old_login_id" validate:"max=255"`
}

// detectUsers is Canvas's test, user_id and login_id (or a default for
// it); an update_only import also takes a file with only the column it
// matches users on, an HRIS file without usernames
// (docs/import-rules.md#user-options).
func detectUsers(h header) bool {
	if h.updateOnly() {
		return h.has("user_id") || h.has(h.opts.UserMatchOn)
	}
	return h.has("user_id") && (h.has("login_id") || h.defaults["login_id"] != "")
}

// typeUsers is the type's name.
const typeUsers = "users"

func init() {
	register(&fileType{name: typeUsers, batch: "user", entity: "user",
		detect:     detectUsers,
		detectRank: 80, applyRank: 40, layout: layoutOf(&userRow{}), required: []string{"status", "login_id"},
		optional:   func(o *Options) bool { return o.UserUploadType == "update_only" },
		ownColumns: func(name string) bool { return strings.HasPrefix(name, "property.") },
		apply:      importUsers, diffKey: []string{"user_id"},
		ids: &idTarget{"users", "sis_user_id", "integration_id", "t.account_id"},
	})
}

// userItem is a row on its way from the reader to the batch that applies it.
type userItem struct {
	line   int
	fields []string
	row    userRow
	key    string      // the value of the user_match_on column, normalised
	fail   *rowFailure // set when the row cannot be applied
	// emailDefaulted: the email came from default[email], so a login id
	// renamed by append_counter renames it too.
	emailDefaulted bool
	defaulted      []string       // the columns a default[<column>] filled
	props          map[string]any // property.<name> cells as stored; nil value: <delete>
	// baseKey, digest: the row's key and digest for its diffing base;
	// diffUnchanged: the row equals the base's, so it is unchanged without
	// a look at the directory (docs/import-rules.md#diffing).
	baseKey       string
	digest        uint64
	diffUnchanged bool
}

// settled reports whether the row's result is known before matching.
func (it *userItem) settled() bool { return it.fail != nil || it.diffUnchanged }

// propertyColumn is a property.<name> column of the file.
type propertyColumn struct {
	idx int
	def directory.Property
}

// userParse is what reading a row needs to know of its file and of the
// import's options.
type userParse struct {
	file   *typedFile
	opts   *Options
	stream *usersStream // the keys of the import's users files so far
	props  []propertyColumn
	// authColumn: the file has authentication_provider_id, whose empty
	// cells clear the provider.
	authColumn bool
}

// importUsers reads a users file in one goroutine (parse, validate, find
// in-file duplicates) and applies it batch by batch in this one.
func importUsers(ctx context.Context, at *attempt, f *typedFile) error {
	defs, err := directory.ListProperties(ctx, at.DB, at.account.RootAccountID)
	if err != nil {
		return err
	}
	var props []propertyColumn
	for name, i := range f.cols {
		pname, ok := strings.CutPrefix(f.view.ownName(name), "property.")
		if !ok {
			continue
		}
		d := slices.IndexFunc(defs, func(p directory.Property) bool { return p.Name == pname })
		if d < 0 {
			return &fileError{Code: "unknown_column", Message: fmt.Sprintf("line %d: column %s: no user property %q is defined in this root account", f.head.Line, name, pname)}
		}
		props = append(props, propertyColumn{idx: i, def: defs[d]})
	}
	if prop, ok := strings.CutPrefix(at.opts.UserMatchOn, "property."); ok {
		i := slices.IndexFunc(props, func(pc propertyColumn) bool { return pc.def.Name == prop })
		switch {
		case i < 0:
			return &fileError{Code: "missing_column", Message: fmt.Sprintf("line %d: user_match_on is %s, but the file has no such column (or no such property is defined)", f.head.Line, at.opts.UserMatchOn)}
		case props[i].def.Type == "multiple_choice":
			return &fileError{Code: "invalid_value", Message: fmt.Sprintf("user_match_on: %s is a multiple_choice property, which cannot identify a user", at.opts.UserMatchOn)}
		}
	}
	secret := f.secretColumns() // the columns results and errors blank

	// Four stages overlap: reading and validating; matching against the
	// directory on a connection of its own, so that PostgreSQL looks up the
	// next batch while it writes this one; deciding; writing, in the
	// import's transaction.
	st, err := at.usersStream(ctx, f)
	if err != nil {
		return err
	}
	if f.has("account_id") && st.homes == nil {
		if st.homes, err = at.loadHomes(ctx); err != nil {
			return err
		}
	}
	ap, err := at.newUserApplier(ctx, f.name, secret, f.width)
	if err != nil {
		return err
	}
	ap.view = f.view
	parse := &userParse{file: f, opts: &at.opts, stream: st, props: props, authColumn: f.has("authentication_provider_id")}
	// Unbuffered: each stage holds one batch and hands it on, so about four
	// batches are alive at once (a buffer of one more per stage cost about
	// 10 MB of peak memory at 1,000,000 rows, and no time; make bench).
	parsed := make(chan []userItem)
	matched := make(chan userBatch)
	planned := make(chan userWrites)
	errs := make(chan error, 3)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	// Every stage stops them all when it fails, so none waits forever on a
	// neighbour that is gone.
	stage := func(err error) {
		if err != nil {
			stop()
		}
		errs <- err
	}
	go func() {
		defer close(parsed)
		stage(readUsers(sctx, parse, parsed))
	}()
	go func() {
		defer close(matched)
		stage(ap.match(sctx, parsed, matched))
	}()
	go func() {
		defer close(planned)
		for b := range matched {
			w, err := ap.plan(sctx, b)
			if err == nil {
				err = handOn(sctx, planned, w)
			}
			if err == nil {
				continue
			}
			stage(err)
			for range matched {
			}
			return
		}
		stage(nil)
	}()
	// The transaction waits while rows are hashed or matched: a ping now and
	// then keeps idle_in_transaction_session_timeout for vanished workers.
	keepAlive := time.NewTicker(at.Lease / 2)
	defer keepAlive.Stop()
	var werr error
	for open := true; open; {
		var w userWrites
		select {
		case w, open = <-planned:
			if !open {
				continue
			}
			if werr == nil {
				werr = ap.write(ctx, w)
			}
			if werr == nil {
				werr = at.progress(ctx)
			}
			if werr != nil {
				stop()
			}
		case <-keepAlive.C:
			if werr == nil && (ap.inTx == nil || ap.inTx.TryLock()) {
				_, err := at.tx.Exec(ctx, "SELECT 1")
				if ap.inTx != nil {
					ap.inTx.Unlock()
				}
				if err != nil {
					werr = fmt.Errorf("keep the import's transaction alive: %w", err)
					stop()
				}
			}
		}
	}
	// A stage that stopped because another failed reports the cancellation:
	// report the first real cause.
	var first error
	for range 3 {
		if err := <-errs; err != nil && (first == nil || errors.Is(first, context.Canceled)) {
			first = err
		}
	}
	if werr != nil {
		return werr
	}
	return first
}

// readUsers parses and validates rows and sends them in batches.
func readUsers(ctx context.Context, p *userParse, out chan<- []userItem) error {
	return readBatches(p.file, p.parse, func(batch []userItem) error {
		if base := p.stream.base; base != nil {
			same := 0
			err := keyset.MarkBase(base, batch, func(it *userItem) (string, uint64) { return it.baseKey, it.digest }, func(it *userItem) {
				it.diffUnchanged = it.fail == nil
				same++
			})
			if err != nil {
				return err
			}
			p.stream.changed += len(batch) - same
		}
		return handOn(ctx, out, batch)
	})
}

// parse fills a row from a record: defaults, standardised login ids,
// validation, duplicates. A record that failed to read (readBatches) only
// lists the user_id it shows.
func (p *userParse) parse(rec csvread.Record, fail *rowFailure) userItem {
	it := userItem{line: rec.Line, fields: rec.Fields}
	st := p.stream
	if fail != nil {
		// The row fails, but a user_id it shows still counts as listed.
		if id := strings.TrimSpace(cell(rec.Fields, p.file.idx[0])); id != "" {
			st.seen.List(id, st.pos(rec.Line))
			it.baseKey = id // listed in the diffing base's terms too
		}
		it.fail = fail
		return it
	}
	r := &it.row
	p.file.fill(r, rec)
	if r.UserID != "" {
		st.seen.List(r.UserID, st.pos(rec.Line)) // listed even if the row fails (docs/import-rules.md#removing-what-the-feed-no-longer-lists)
	}
	if st.base != nil && r.UserID != "" {
		it.baseKey, it.digest = strings.TrimSpace(r.UserID), p.file.digester.Digest(rec.Fields)
	}
	it.emailDefaulted = r.Email == "" && p.opts.Defaults["email"] != ""
	if f := p.applyDefaults(r, &it.defaulted); f != nil {
		it.fail = f
		return it
	}
	r.Status = strings.ToLower(r.Status) // again: a default may have filled it
	if f := p.file.validate(r); f != nil {
		it.fail = f
		return it
	}
	if r.AuthProvider == "" && p.authColumn {
		r.AuthProvider = deleteMarker // as on Canvas, an empty cell clears the provider
	}
	for _, pc := range p.props {
		v := rec.Fields[pc.idx]
		if v == "" {
			continue
		}
		if it.props == nil {
			it.props = map[string]any{}
		}
		if v == deleteMarker {
			it.props[pc.def.Name] = nil
			continue
		}
		val, err := pc.def.Choose(v)
		if err != nil {
			it.fail = &rowFailure{code: "invalid_option", message: fmt.Sprintf("column property.%s: %v", pc.def.Name, err)}
			return it
		}
		it.props[pc.def.Name] = val
	}
	if len(r.Password) > 72 {
		// bcrypt reads 72 bytes at most: a longer password would be cut short.
		it.fail = &rowFailure{code: "invalid_value", message: "column password: longer than 72 bytes"}
		return it
	}
	o := p.opts
	if r.UserID == "" && o.UserMatchOn == "user_id" {
		it.fail = &rowFailure{code: "missing_value", message: fmt.Sprintf("column %s: a value is required", p.file.view.column("user_id"))}
		return it
	}
	if r.OldLoginID != "" && !o.AllowRenames {
		it.fail = &rowFailure{code: "invalid_value", message: fmt.Sprintf("column %s: renaming a user needs allow_renames=true", p.file.view.column("old_login_id"))}
		return it
	}
	it.key = matchKey(o.UserMatchOn, r, it.props)
	if it.key == "" {
		it.fail = &rowFailure{code: "missing_value", message: fmt.Sprintf("column %s: a value is required to match users on it", p.file.view.column(o.UserMatchOn))}
		return it
	}
	if r.UserID != "" {
		if first, dup := st.seen.Add(r.UserID, st.pos(rec.Line)); dup {
			it.fail = &rowFailure{code: "duplicate_in_file", message: fmt.Sprintf("user_id %q already appears on %s; the first row wins", r.UserID, st.where(first))}
			return it
		}
	}
	if o.UserMatchOn != "user_id" {
		if first, dup := st.seenKeys.Add(it.key, st.pos(rec.Line)); dup {
			it.fail = &rowFailure{code: "duplicate_in_file", message: fmt.Sprintf("%s %q already appears on %s; the first row wins", o.UserMatchOn, it.key, st.where(first))}
			return it
		}
	}
	return it
}

// applyDefaults fills empty cells from default[<column>] templates and
// standardises the login id; names come first, so that %f and %l see them,
// then the login id, which %u sees.
func (p *userParse) applyDefaults(r *userRow, defaulted *[]string) *rowFailure {
	d := p.opts.Defaults
	fill := func(col string, dst *string) *rowFailure {
		t, ok := d[col]
		if !ok || *dst != "" {
			return nil
		}
		v, err := expand(t, r.FirstName, r.LastName, r.LoginID)
		if err != nil {
			return &rowFailure{code: "invalid_value", message: fmt.Sprintf("default[%s]: %v", col, err)}
		}
		*dst = strings.TrimSpace(v)
		*defaulted = append(*defaulted, col)
		return nil
	}
	for _, c := range []struct {
		col string
		dst *string
	}{{"first_name", &r.FirstName}, {"last_name", &r.LastName}, {"login_id", &r.LoginID}} {
		if f := fill(c.col, c.dst); f != nil {
			return f
		}
	}
	if p.opts.StandardizeLoginIDs && r.LoginID != deleteMarker {
		r.LoginID = standardizeLogin(r.LoginID)
	}
	for _, c := range []struct {
		col string
		dst *string
	}{{"email", &r.Email}, {"full_name", &r.FullName}, {"sortable_name", &r.SortableName}, {"short_name", &r.ShortName},
		{"pronouns", &r.Pronouns}, {"status", &r.Status}, {"integration_id", &r.IntegrationID}} {
		if f := fill(c.col, c.dst); f != nil {
			return f
		}
	}
	return nil
}

// matchKey is the row's value of the column users are matched on, in the
// form the lookup compares: login ids and emails case-insensitively.
func matchKey(on string, r *userRow, props map[string]any) string {
	if name, ok := strings.CutPrefix(on, "property."); ok {
		v, _ := props[name].(string)
		return strings.ToLower(v)
	}
	switch on {
	case "login_id":
		if r.OldLoginID != "" {
			return strings.ToLower(r.OldLoginID) // a rename finds the user by its old login
		}
		return strings.ToLower(r.LoginID)
	case "email":
		if r.Email == deleteMarker {
			return ""
		}
		return strings.ToLower(r.Email)
	case "integration_id":
		if r.IntegrationID == deleteMarker {
			return ""
		}
		return r.IntegrationID
	}
	return r.UserID
}
