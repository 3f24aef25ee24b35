/* The client side as applications drive it (issue 14): SASL_INTERACT prompts and how the
 * answers come back, which callback list is asked, *mech on every path, SASL_USERNAME, an
 * external SSF lifting noplaintext, and "No worthy mechs found". No server is needed: the
 * server's challenges are fixed strings. Each case prints one line; c_programs.rs compares
 * them with the lines Cyrus 2.1.28 prints.
 *
 *   client_interact global   sasl_client_init lists USER, AUTHNAME and PASS with NULL procs
 *   client_interact none     sasl_client_init(NULL)
 *
 * The prompt answerer knows only USER, AUTHNAME and PASS (and GETREALM in the one case that
 * lists it), and prints "unexpected" for any other id, as such applications abort. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sasl/sasl.h>

static char line[4096];

static void add(const char *text)
{
    strncat(line, text, sizeof line - strlen(line) - 1);
}

static void add_bytes(const char *data, unsigned len)
{
    char one[8];
    for (unsigned i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') snprintf(one, sizeof one, "%c", c);
        else snprintf(one, sizeof one, "\\x%02x", c);
        add(one);
    }
}

static void addf_int(const char *format, int value)
{
    char buf[64];
    snprintf(buf, sizeof buf, format, value);
    add(buf);
}

static const char *id_name(unsigned long id)
{
    switch (id) {
    case SASL_CB_USER: return "USER";
    case SASL_CB_AUTHNAME: return "AUTHNAME";
    case SASL_CB_PASS: return "PASS";
    case SASL_CB_GETREALM: return "GETREALM";
    case SASL_CB_ECHOPROMPT: return "ECHOPROMPT";
    case SASL_CB_NOECHOPROMPT: return "NOECHOPROMPT";
    default: return "unexpected";
    }
}

/* The answers an application would type. */
static const char *answer_user = "", *answer_authname = "tim", *answer_pass = "tanstaaftanstaaf";
static const char *answer_realm = "b.example";

/* Lists the prompts and fills them as an application answering only the usual ids. */
static void answer(sasl_interact_t *prompts)
{
    add(" [");
    for (sasl_interact_t *p = prompts; p && p->id != SASL_CB_LIST_END; p++) {
        const char *value = NULL;
        if (p != prompts) add(" ");
        add(id_name(p->id));
        if (!p->prompt) add("(no prompt text)");
        switch (p->id) {
        case SASL_CB_USER: value = answer_user; break;
        case SASL_CB_AUTHNAME: value = answer_authname; break;
        case SASL_CB_PASS: value = answer_pass; break;
        case SASL_CB_GETREALM: value = answer_realm; break;
        default: break;
        }
        p->result = value;
        p->len = value ? (unsigned)strlen(value) : 0;
    }
    add("]");
}

static void add_out(const char *out, unsigned outlen)
{
    if (!out) { add(" out=NULL"); return; }
    add(" out=");
    add_bytes(out, outlen);
}

/* DIGEST-MD5's response has a random cnonce: keep only username and realm. */
static void add_digest_out(const char *out, unsigned outlen)
{
    char copy[2048], *p;
    if (!out || outlen >= sizeof copy) { add(" out=?"); return; }
    memcpy(copy, out, outlen);
    copy[outlen] = 0;
    p = strstr(copy, "username=");
    if (p) { char *e = strchr(p + 10, '"'); if (e) e[1] = 0; add(" "); add(p); }
    memcpy(copy, out, outlen);
    copy[outlen] = 0;
    p = strstr(copy, "realm=");
    if (p) { char *e = strchr(p + 7, '"'); if (e) e[1] = 0; add(" "); add(p); }
    else add(" no-realm");
}

static void add_username(sasl_conn_t *conn)
{
    const void *name = NULL;
    int r = sasl_getprop(conn, SASL_USERNAME, &name);
    if (r != SASL_OK) addf_int(" username:%d", r);
    else { add(" username="); add(name ? (const char *)name : "(null)"); }
}

static void finish(const char *name)
{
    printf("%s:%s\n", name, line);
    fflush(stdout);
    line[0] = 0;
}

static sasl_conn_t *new_conn(const sasl_callback_t *callbacks)
{
    sasl_conn_t *conn = NULL;
    sasl_security_properties_t props;
    int r = sasl_client_new("imap", "mail.example.org", NULL, NULL, callbacks, 0, &conn);
    if (r != SASL_OK) { printf("sasl_client_new: %d\n", r); exit(2); }
    memset(&props, 0, sizeof props);
    props.max_ssf = 256;
    props.maxbufsize = 65536;
    sasl_setprop(conn, SASL_SEC_PROPS, &props);
    return conn;
}

/* sasl_client_start until it stops asking, answering by calling it again. */
static int start(sasl_conn_t *conn, const char *list, const char **out, unsigned *outlen)
{
    sasl_interact_t *prompts = NULL;
    /* Cyrus writes *mech when it chooses, not again when it carries on with answers. */
    const char *mech = "unset";
    int r, rounds = 0;
    do {
        r = sasl_client_start(conn, list, &prompts, out, outlen, &mech);
        addf_int(" start=%d", r);
        add(" mech=");
        add(mech ? mech : "NULL");
        if (r == SASL_INTERACT) answer(prompts);
    } while (r == SASL_INTERACT && ++rounds < 4);
    return r;
}

/* sasl_client_step until it stops asking; answers come back with NULL input (Cyrus's
 * documented form) or, with same_input, the same challenge again (OpenLDAP, isync). */
static int step(sasl_conn_t *conn, const char *in, unsigned inlen, int same_input,
                const char **out, unsigned *outlen)
{
    sasl_interact_t *prompts = NULL;
    int r, rounds = 0;
    r = sasl_client_step(conn, in, inlen, &prompts, out, outlen);
    addf_int(" step=%d", r);
    while (r == SASL_INTERACT && ++rounds < 4) {
        answer(prompts);
        r = same_input ? sasl_client_step(conn, in, inlen, &prompts, out, outlen)
                       : sasl_client_step(conn, NULL, 0, &prompts, out, outlen);
        addf_int(" step=%d", r);
    }
    return r;
}

static const char cram_challenge[] = "<1896.697170952@postoffice.reston.mci.net>";
static const char digest_two_realms[] =
    "realm=\"a.example\",realm=\"b.example\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\","
    "charset=utf-8,algorithm=md5-sess";
static const char digest_one_realm[] =
    "realm=\"a.example\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",charset=utf-8,algorithm=md5-sess";

static const char digest_no_realm[] =
    "nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",charset=utf-8,algorithm=md5-sess";

static int fail_simple(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx; (void)id; (void)result; (void)len;
    return SASL_FAIL;
}

static int getsimple(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx;
    *result = id == SASL_CB_AUTHNAME ? "cb-user" : "";
    if (len) *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static int getsecret(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    static struct { sasl_secret_t secret; char rest[16]; } value;
    (void)conn; (void)ctx; (void)id;
    value.secret.len = 2;
    memcpy(value.secret.data, "pw", 3);
    *psecret = &value.secret;
    return SASL_OK;
}

static int realm_calls;
static int getrealm(void *ctx, int id, const char **realms, const char **result)
{
    (void)ctx; (void)id;
    realm_calls++;
    *result = realms && realms[0] && realms[1] ? realms[1] : "cb.example";
    return SASL_OK;
}

static int global_mode(void)
{
    static const sasl_callback_t global[] = {
        {SASL_CB_USER, NULL, NULL},
        {SASL_CB_AUTHNAME, NULL, NULL},
        {SASL_CB_PASS, NULL, NULL},
        {SASL_CB_LIST_END, NULL, NULL},
    };
    const sasl_callback_t realm_prompt[] = {
        {SASL_CB_GETREALM, NULL, NULL},
        {SASL_CB_LIST_END, NULL, NULL},
    };
    const sasl_callback_t failing[] = {
        {SASL_CB_AUTHNAME, (int (*)(void))fail_simple, NULL},
        {SASL_CB_LIST_END, NULL, NULL},
    };
    sasl_conn_t *conn;
    const char *out;
    unsigned outlen;
    int r;

    if (sasl_client_init(global) != SASL_OK) return 2;

    /* PLAIN: the prompts come from the global list; sasl_client_start again carries on. */
    conn = new_conn(NULL);
    r = start(conn, "PLAIN", &out, &outlen);
    add_out(out, outlen);
    if (r == SASL_OK) add_username(conn);
    finish("plain");
    sasl_dispose(&conn);

    /* The same with an authorization identity: it is the client's SASL_USERNAME. */
    answer_user = "boss";
    conn = new_conn(NULL);
    r = start(conn, "PLAIN", &out, &outlen);
    add_out(out, outlen);
    if (r == SASL_OK) add_username(conn);
    finish("plain-authzid");
    sasl_dispose(&conn);
    answer_user = "";

    /* Answered through sasl_client_step(conn, NULL, 0, ...), as isync does after
     * sasl_client_start returned SASL_INTERACT. */
    conn = new_conn(NULL);
    {
        sasl_interact_t *prompts = NULL;
        const char *mech = "unset";
        r = sasl_client_start(conn, "PLAIN", &prompts, &out, &outlen, &mech);
        addf_int(" start=%d", r);
        add(" mech=");
        add(mech ? mech : "NULL");
        if (r == SASL_INTERACT) answer(prompts);
        r = sasl_client_step(conn, NULL, 0, &prompts, &out, &outlen);
        addf_int(" step=%d", r);
        add_out(out, outlen);
        if (r == SASL_OK) add_username(conn);
    }
    finish("plain-step-answers");
    sasl_dispose(&conn);

    conn = new_conn(NULL);
    {
        sasl_interact_t *prompts = NULL;
        const char *mech = "unset";
        r = sasl_client_start(conn, "SCRAM-SHA-256", &prompts, &out, &outlen, &mech);
        addf_int(" start=%d", r);
        if (r == SASL_INTERACT) answer(prompts);
        r = sasl_client_step(conn, NULL, 0, &prompts, &out, &outlen);
        addf_int(" step=%d", r);
        if (out && outlen > 0) {
            const char *nonce = strstr(out, ",r=");
            add_out(out, nonce ? (unsigned)(nonce - out) : outlen);
        }
    }
    finish("scram-step-answers");
    sasl_dispose(&conn);

    /* Without clientout (a protocol with no initial response, as isync without SASL-IR):
     * sasl_client_start only chooses; the mechanism starts in the first sasl_client_step. */
    {
        static const char *const lists[] = {"PLAIN", "SCRAM-SHA-1", "CRAM-MD5"};
        for (unsigned i = 0; i < 3; i++) {
            sasl_interact_t *prompts = NULL;
            const char *mech = "unset";
            const char *in = i == 2 ? cram_challenge : "";
            unsigned inlen = i == 2 ? (unsigned)sizeof cram_challenge - 1 : 0;
            conn = new_conn(NULL);
            r = sasl_client_start(conn, lists[i], &prompts, NULL, NULL, &mech);
            addf_int(" start=%d", r);
            add(" mech=");
            add(mech ? mech : "NULL");
            if (r == SASL_INTERACT) answer(prompts);
            r = step(conn, in, inlen, 1, &out, &outlen);
            if (out && outlen > 0) {
                const char *nonce = strstr(out, ",r=");
                add_out(out, nonce ? (unsigned)(nonce - out) : outlen);
            }
            add(";");
            sasl_dispose(&conn);
        }
    }
    finish("no-clientout");

    /* SCRAM speaks first: it asks in sasl_client_start. */
    conn = new_conn(NULL);
    r = start(conn, "SCRAM-SHA-1", &out, &outlen);
    if (out && outlen > 0) {
        const char *nonce = strstr(out, ",r=");
        add_out(out, nonce ? (unsigned)(nonce - out) : outlen);
    }
    finish("scram");
    sasl_dispose(&conn);

    /* CRAM-MD5: the server speaks first; the prompts come with its challenge, and the
     * answers go back with sasl_client_step(conn, NULL, 0, ...). */
    conn = new_conn(NULL);
    r = start(conn, "CRAM-MD5", &out, &outlen);
    add_out(out, outlen);
    r = step(conn, cram_challenge, sizeof cram_challenge - 1, 0, &out, &outlen);
    /* Only the name: Cyrus's CRAM-MD5 digests the retry's (empty) input instead of the
     * challenge, so its digest here is of no use to anyone; ours is the right one. */
    add_out(out, out && outlen > 4 ? 4 : outlen);
    finish("cram");
    sasl_dispose(&conn);

    /* The same, answered the way OpenLDAP and isync do: the same challenge again. */
    conn = new_conn(NULL);
    r = start(conn, "CRAM-MD5", &out, &outlen);
    r = step(conn, cram_challenge, sizeof cram_challenge - 1, 1, &out, &outlen);
    add_out(out, outlen);
    finish("cram-same-input");
    sasl_dispose(&conn);

    /* LOGIN. */
    conn = new_conn(NULL);
    r = start(conn, "LOGIN", &out, &outlen);
    add_out(out, outlen);
    r = step(conn, "Username:", 9, 1, &out, &outlen);
    add_out(out, outlen);
    if (r == SASL_CONTINUE) {
        r = step(conn, "Password:", 9, 1, &out, &outlen);
        add_out(out, outlen);
    }
    finish("login");
    sasl_dispose(&conn);

    /* DIGEST-MD5 with two realms offered but GETREALM not listed: never asked. */
    conn = new_conn(NULL);
    r = start(conn, "DIGEST-MD5", &out, &outlen);
    add_out(out, outlen);
    r = step(conn, digest_two_realms, sizeof digest_two_realms - 1, 0, &out, &outlen);
    add_digest_out(out, outlen);
    finish("digest-two-realms");
    sasl_dispose(&conn);

    /* No realm offered. */
    conn = new_conn(NULL);
    r = start(conn, "DIGEST-MD5", &out, &outlen);
    r = step(conn, digest_no_realm, sizeof digest_no_realm - 1, 0, &out, &outlen);
    add_digest_out(out, outlen);
    finish("digest-no-realm");
    sasl_dispose(&conn);

    /* GETREALM listed with a NULL proc and one realm offered. */
    conn = new_conn(realm_prompt);
    r = start(conn, "DIGEST-MD5", &out, &outlen);
    r = step(conn, digest_one_realm, sizeof digest_one_realm - 1, 0, &out, &outlen);
    add_digest_out(out, outlen);
    finish("digest-one-realm-listed");
    sasl_dispose(&conn);

    /* GETREALM listed with a NULL proc and two realms offered: asked. */
    conn = new_conn(realm_prompt);
    r = start(conn, "DIGEST-MD5", &out, &outlen);
    r = step(conn, digest_two_realms, sizeof digest_two_realms - 1, 1, &out, &outlen);
    add_digest_out(out, outlen);
    finish("digest-two-realms-listed");
    sasl_dispose(&conn);

    /* Prompts left unanswered: none for USER is no authorization name; none for PASS is a
     * parameter error, not another round of prompts. */
    conn = new_conn(NULL);
    {
        sasl_interact_t *prompts = NULL;
        const char *mech = "unset";
        r = sasl_client_start(conn, "PLAIN", &prompts, &out, &outlen, &mech);
        addf_int(" start=%d", r);
        for (sasl_interact_t *p = prompts; p && p->id != SASL_CB_LIST_END; p++) {
            p->result = p->id == SASL_CB_AUTHNAME ? "tim" : NULL;
            p->len = p->id == SASL_CB_AUTHNAME ? 3 : 0;
        }
        r = sasl_client_start(conn, "PLAIN", &prompts, &out, &outlen, &mech);
        addf_int(" start=%d", r);
    }
    finish("unanswered");
    sasl_dispose(&conn);

    /* A GETREALM procedure: called only to choose among several realms. */
    {
        const sasl_callback_t realm_callback[] = {
            {SASL_CB_GETREALM, (int (*)(void))getrealm, NULL},
            {SASL_CB_LIST_END, NULL, NULL},
        };
        static const char *const challenges[] = {digest_one_realm, digest_two_realms, digest_no_realm};
        for (unsigned i = 0; i < 3; i++) {
            realm_calls = 0;
            conn = new_conn(realm_callback);
            r = start(conn, "DIGEST-MD5", &out, &outlen);
            r = step(conn, challenges[i], (unsigned)strlen(challenges[i]), 1, &out, &outlen);
            add_digest_out(out, outlen);
            addf_int(" calls=%d;", realm_calls);
            sasl_dispose(&conn);
        }
    }
    finish("digest-getrealm-procedure");

    /* A failing AUTHNAME callback: the code comes back and *mech names the mechanism. */
    conn = new_conn(failing);
    r = start(conn, "PLAIN", &out, &outlen);
    finish("failing-callback");
    sasl_dispose(&conn);

    /* No mechanism fits. */
    conn = new_conn(NULL);
    r = start(conn, "X-UNKNOWN X-OTHER", &out, &outlen);
    add(strstr(sasl_errdetail(conn), "No worthy mechs found") ? " detail-ok" : " detail-wrong");
    finish("nomech");
    sasl_dispose(&conn);

    /* noplaintext: PLAIN is not worthy, unless an external layer (TLS) protects it. */
    {
        sasl_security_properties_t props;
        sasl_ssf_t ssf = 256;
        memset(&props, 0, sizeof props);
        props.max_ssf = 256;
        props.maxbufsize = 65536;
        props.security_flags = SASL_SEC_NOPLAINTEXT;
        conn = new_conn(NULL);
        sasl_setprop(conn, SASL_SEC_PROPS, &props);
        r = start(conn, "PLAIN LOGIN", &out, &outlen);
        sasl_dispose(&conn);
        conn = new_conn(NULL);
        sasl_setprop(conn, SASL_SEC_PROPS, &props);
        sasl_setprop(conn, SASL_SSF_EXTERNAL, &ssf);
        r = start(conn, "PLAIN LOGIN", &out, &outlen);
        add_out(out, outlen);
        finish("external-ssf");
        sasl_dispose(&conn);
    }

    sasl_client_done();
    return 0;
}

static int none_mode(void)
{
    const sasl_callback_t only_authname[] = {
        {SASL_CB_AUTHNAME, (int (*)(void))getsimple, NULL},
        {SASL_CB_LIST_END, NULL, NULL},
    };
    const sasl_callback_t only_pass[] = {
        {SASL_CB_PASS, (int (*)(void))getsecret, NULL},
        {SASL_CB_LIST_END, NULL, NULL},
    };
    const sasl_callback_t prompt_user[] = {
        {SASL_CB_USER, NULL, NULL},
        {SASL_CB_PASS, (int (*)(void))getsecret, NULL},
        {SASL_CB_LIST_END, NULL, NULL},
    };
    sasl_conn_t *conn;
    const char *out;
    unsigned outlen;
    int r;

    if (sasl_client_init(NULL) != SASL_OK) return 2;

    /* No way to get a password: no mechanism that needs one is worthy. */
    conn = new_conn(only_authname);
    r = start(conn, "PLAIN CRAM-MD5", &out, &outlen);
    add(strstr(sasl_errdetail(conn), "No worthy mechs found") ? " detail-ok" : " detail-wrong");
    finish("no-password");
    sasl_dispose(&conn);

    /* No AUTHNAME listed: Cyrus's default, $USER. */
    conn = new_conn(only_pass);
    r = start(conn, "PLAIN", &out, &outlen);
    add_out(out, outlen);
    if (r == SASL_OK) add_username(conn);
    finish("default-authname");
    sasl_dispose(&conn);

    /* Only USER asked through SASL_INTERACT; the rest from callbacks and defaults. */
    answer_user = "boss";
    conn = new_conn(prompt_user);
    r = start(conn, "PLAIN", &out, &outlen);
    add_out(out, outlen);
    if (r == SASL_OK) add_username(conn);
    finish("prompt-user-only");
    sasl_dispose(&conn);
    (void)r;

    sasl_client_done();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "global") == 0) return global_mode();
    if (argc == 2 && strcmp(argv[1], "none") == 0) return none_mode();
    fprintf(stderr, "usage: client_interact global|none\n");
    return 2;
}
