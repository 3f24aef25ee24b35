/* Several threads, one connection each, authenticating at the same time (the library's
 * promise: thread-safe with one connection per thread). Exits 0 if every exchange succeeded
 * and every wrong password failed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sasl/sasl.h>

#define THREADS 4
#define ROUNDS 50

static const char *sasldb;

static int getopt_cb(void *ctx, const char *plugin, const char *option, const char **result, unsigned *len)
{
    (void)ctx; (void)plugin;
    if (strcmp(option, "sasldb_path") == 0) *result = sasldb;
    else return SASL_FAIL;
    if (len) *len = (unsigned)strlen(*result);
    return SASL_OK;
}

struct creds { const char *user, *pass; sasl_secret_t *secret; };

static int simple_cb(void *ctx, int id, const char **result, unsigned *len)
{
    struct creds *c = ctx;
    *result = id == SASL_CB_AUTHNAME ? c->user : "";
    if (len) *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static int pass_cb(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    struct creds *c = ctx;
    (void)conn; (void)id;
    *psecret = c->secret;
    return SASL_OK;
}

static int exchange(const char *mech, struct creds *c)
{
    sasl_callback_t cbs[] = {
        {SASL_CB_AUTHNAME, (int (*)(void))simple_cb, c},
        {SASL_CB_PASS, (int (*)(void))pass_cb, c},
        {SASL_CB_LIST_END, NULL, NULL},
    };
    sasl_conn_t *s = NULL, *cl = NULL;
    const char *out = NULL, *sout = NULL, *chosen = NULL;
    unsigned outlen = 0, soutlen = 0;
    int r, steps = 0;
    sasl_server_new("smtp", "threads.example.org", NULL, NULL, NULL, NULL, 0, &s);
    sasl_client_new("smtp", "threads.example.org", NULL, NULL, cbs, 0, &cl);
    r = sasl_client_start(cl, mech, NULL, &out, &outlen, &chosen);
    if (r == SASL_OK || r == SASL_CONTINUE) r = sasl_server_start(s, mech, out, outlen, &sout, &soutlen);
    while (r == SASL_CONTINUE && steps++ < 10) {
        r = sasl_client_step(cl, sout, soutlen, NULL, &out, &outlen);
        if (r != SASL_OK && r != SASL_CONTINUE) break;
        r = sasl_server_step(s, out, outlen, &sout, &soutlen);
    }
    sasl_dispose(&cl);
    sasl_dispose(&s);
    return r;
}

static void *worker(void *arg)
{
    long id = (long)arg, bad = 0;
    struct creds good = {"bob", "pw2", NULL}, wrong = {"bob", "nope", NULL};
    int i;
    good.secret = malloc(sizeof(sasl_secret_t) + 3);
    good.secret->len = 3;
    memcpy(good.secret->data, "pw2", 4);
    wrong.secret = malloc(sizeof(sasl_secret_t) + 4);
    wrong.secret->len = 4;
    memcpy(wrong.secret->data, "nope", 5);
    for (i = 0; i < ROUNDS; i++) {
        const char *mech = (i + id) % 2 ? "PLAIN" : "CRAM-MD5";
        if (exchange(mech, &good) != SASL_OK) bad++;
        if (i % 10 == 0 && exchange(mech, &wrong) == SASL_OK) bad++;
    }
    free(good.secret);
    free(wrong.secret);
    return (void *)bad;
}

int main(int argc, char **argv)
{
    sasl_callback_t cbs[] = {{SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL}, {SASL_CB_LIST_END, NULL, NULL}};
    pthread_t threads[THREADS];
    sasl_conn_t *conn = NULL;
    long i, bad = 0;
    if (argc != 2) return 2;
    sasldb = argv[1];
    if (sasl_server_init(cbs, "threads") != SASL_OK || sasl_client_init(NULL) != SASL_OK) return 1;
    sasl_server_new("smtp", "threads.example.org", NULL, NULL, NULL, NULL, 0, &conn);
    if (sasl_setpass(conn, "bob", "pw2", 3, NULL, 0, SASL_SET_CREATE) != SASL_OK) return 1;
    sasl_dispose(&conn);
    for (i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, worker, (void *)i);
    for (i = 0; i < THREADS; i++) {
        void *ret;
        pthread_join(threads[i], &ret);
        bad += (long)ret;
    }
    sasl_done();
    printf("%ld bad\n", bad);
    return bad ? 1 : 0;
}
