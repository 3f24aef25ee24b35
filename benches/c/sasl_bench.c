/* Authentications per second through the libsasl2 C API: client and server in one process,
 * credentials in a sasldb2 file. The same source is linked once against Cyrus's libsasl2 and
 * once against puresasl's (benches/c_bench.sh); the tests also use it, with one iteration, to
 * check that each library reads the other's sasldb2 files.
 *
 *   sasl_bench SASLDB USER PASSWORD ITERATIONS MECH...
 *
 * USER is looked up in the realm "bench.example.org" (the server's host name). Prints, per
 * mechanism, the wall-clock rate and the process's CPU time per authentication (steadier on
 * a busy machine: time the process waited for a CPU does not count). Exits 0 only if every
 * authentication succeeded.
 *
 * With SASL_BENCH_OPTIONS naming a file of "option: value" lines, those options are answered
 * first (benches/c_bench_sql.sh: auxprop_plugin: sql and the sql_* options). With
 * SASL_BENCH_COUNT set, log messages at every level are counted and the count of those
 * containing that text is printed per authentication (Cyrus's sql plugin logs each statement
 * as "sql plugin doing query"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sasl/sasl.h>
#include <sasl/saslutil.h>

static const char *sasldb, *mechanism, *user, *password;

/* Options from SASL_BENCH_OPTIONS: "name: value" lines, kept for the whole run. */
#define MAX_OPTIONS 32
static char *option_names[MAX_OPTIONS], *option_values[MAX_OPTIONS];
static int option_count;

static void read_options(const char *path)
{
    char line[1024];
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); exit(2); }
    while (option_count < MAX_OPTIONS && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':'), *value, *end;
        if (!colon || line[0] == '#') continue;
        *colon = '\0';
        value = colon + 1;
        while (*value == ' ' || *value == '\t') value++;
        end = value + strlen(value);
        while (end > value && (end[-1] == '\n' || end[-1] == '\r')) *--end = '\0';
        option_names[option_count] = strdup(line);
        option_values[option_count] = strdup(value);
        option_count++;
    }
    fclose(f);
}

static const char *count_text;
static long counted;

static int log_cb(void *ctx, int level, const char *message)
{
    (void)ctx; (void)level;
    if (count_text && message && strstr(message, count_text)) counted++;
    return SASL_OK;
}

static int getopt_cb(void *ctx, const char *plugin, const char *option, const char **result, unsigned *len)
{
    int i;
    (void)ctx; (void)plugin;
    for (i = 0; i < option_count; i++) {
        if (strcmp(option, option_names[i]) == 0) {
            *result = option_values[i];
            if (len) *len = (unsigned)strlen(*result);
            return SASL_OK;
        }
    }
    if (strcmp(option, "log_level") == 0 && count_text) *result = "7";
    else if (strcmp(option, "sasldb_path") == 0) *result = sasldb;
    else if (strcmp(option, "mech_list") == 0) *result = mechanism;
    else if (strcmp(option, "pwcheck_method") == 0) *result = "auxprop";
    else if (strcmp(option, "auxprop_plugin") == 0) *result = "sasldb";
    else return SASL_FAIL;
    if (len) *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static int simple_cb(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx;
    if (id != SASL_CB_AUTHNAME && id != SASL_CB_USER) return SASL_BADPARAM;
    *result = id == SASL_CB_AUTHNAME ? user : "";
    if (len) *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static sasl_secret_t *secret;
static int pass_cb(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    (void)conn; (void)ctx; (void)id;
    *psecret = secret;
    return SASL_OK;
}

static sasl_callback_t server_cbs[] = {
    {SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL},
    {SASL_CB_LOG, (int (*)(void))log_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};
static sasl_callback_t client_cbs[] = {
    {SASL_CB_AUTHNAME, (int (*)(void))simple_cb, NULL},
    {SASL_CB_PASS, (int (*)(void))pass_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static int authenticate(const char *mech)
{
    sasl_conn_t *server = NULL, *client = NULL;
    const char *out = NULL, *sout = NULL, *chosen = NULL;
    unsigned outlen = 0, soutlen = 0;
    int r, steps = 0;

    if (sasl_server_new("smtp", "bench.example.org", NULL, NULL, NULL, NULL, 0, &server) != SASL_OK ||
        sasl_client_new("smtp", "bench.example.org", NULL, NULL, client_cbs, 0, &client) != SASL_OK)
        return SASL_FAIL;
    r = sasl_client_start(client, mech, NULL, &out, &outlen, &chosen);
    if (r == SASL_OK || r == SASL_CONTINUE)
        r = sasl_server_start(server, mech, out, outlen, &sout, &soutlen);
    while (r == SASL_CONTINUE && steps++ < 10) {
        r = sasl_client_step(client, sout, soutlen, NULL, &out, &outlen);
        if (r != SASL_OK && r != SASL_CONTINUE) break;
        r = sasl_server_step(server, out, outlen, &sout, &soutlen);
    }
    if (r != SASL_OK)
        fprintf(stderr, "%s: %s (%s)\n", mech, sasl_errstring(r, NULL, NULL), sasl_errdetail(server));
    sasl_dispose(&client);
    sasl_dispose(&server);
    return r;
}

int main(int argc, char **argv)
{
    const char *impl = NULL, *version = NULL;
    long iterations;
    int i, failed = 0;

    if (argc < 6) {
        fprintf(stderr, "usage: %s SASLDB USER PASSWORD ITERATIONS MECH...\n", argv[0]);
        return 2;
    }
    sasldb = argv[1];
    user = argv[2];
    password = argv[3];
    iterations = atol(argv[4]);
    secret = malloc(sizeof(sasl_secret_t) + strlen(password));
    secret->len = strlen(password);
    memcpy(secret->data, password, strlen(password) + 1);
    sasl_version_info(&impl, &version, NULL, NULL, NULL, NULL);
    if (getenv("SASL_BENCH_OPTIONS")) read_options(getenv("SASL_BENCH_OPTIONS"));
    count_text = getenv("SASL_BENCH_COUNT");

    for (i = 5; i < argc; i++) {
        struct timespec start, end, cpu_start, cpu_end;
        double seconds, cpu;
        long n;
        mechanism = argv[i];
        /* The mechanism list is read at init: one init per mechanism. */
        if (sasl_server_init(server_cbs, "sasl_bench") != SASL_OK || sasl_client_init(NULL) != SASL_OK) {
            fprintf(stderr, "init failed\n");
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &start);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_start);
        for (n = 0; n < iterations; n++) {
            if (authenticate(argv[i]) != SASL_OK) {
                failed++;
                break;
            }
        }
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_end);
        clock_gettime(CLOCK_MONOTONIC, &end);
        seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
        cpu = (double)(cpu_end.tv_sec - cpu_start.tv_sec) + (double)(cpu_end.tv_nsec - cpu_start.tv_nsec) / 1e9;
        printf("%s %s %-14s %6ld auths %8.3f s %10.1f auth/s %10.1f us CPU/auth", impl, version, argv[i], n,
               seconds, seconds > 0 ? (double)n / seconds : 0.0, n > 0 ? cpu * 1e6 / (double)n : 0.0);
        if (count_text)
            printf(" %6.2f \"%s\" per auth", n > 0 ? (double)counted / (double)n : 0.0, count_text);
        printf("\n");
        counted = 0;
        sasl_done();
    }
    free(secret);
    return failed ? 1 : 0;
}
