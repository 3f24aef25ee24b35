/* Debian's extra exports (declared in no installed header): sasl_config_init/getstring/done
 * and sasl_common_done. Run on our library and on Cyrus's by ffi/tests/c_programs.rs with
 * TEST_CONF_DIR holding debian.conf. Prints "ok" lines and exits 0 only if every check
 * passed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sasl/sasl.h>

int sasl_config_init(const char *filename);
const char *sasl_config_getstring(const char *key, const char *def);
void sasl_config_done(void);
void sasl_common_done(void);

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

static int is(const char *value, const char *expected)
{
    return value != NULL && strcmp(value, expected) == 0;
}

int main(void)
{
    const char *dir = getenv("TEST_CONF_DIR");
    if (!dir) return 2;
    char path[4096], missing[4096];
    snprintf(path, sizeof path, "%s/debian.conf", dir);
    snprintf(missing, sizeof missing, "%s/missing.conf", dir);
    const char *def = "default";

    CHECK(sasl_config_getstring("mech_list", def) == def, "a value before sasl_config_init");
    CHECK(sasl_config_init(missing) == SASL_CONTINUE, "sasl_config_init of a missing file");
    CHECK(sasl_config_init(path) == SASL_OK, "sasl_config_init");
    const char *mechs = sasl_config_getstring("mech_list", def);
    CHECK(is(mechs, "plain login"), "mech_list: %s", mechs ? mechs : "(null)");
    CHECK(is(sasl_config_getstring("log_level", def), "3"), "log_level");
    CHECK(sasl_config_getstring("absent_option", def) == def, "absent option");
    CHECK(is(mechs, "plain login"), "an earlier value changed");
    sasl_config_done();
    CHECK(sasl_config_getstring("mech_list", def) == def, "a value after sasl_config_done");
    printf("ok config\n");

    /* sasl_server_init reads <appname>.conf into the same list. */
    CHECK(sasl_set_path(SASL_PATH_TYPE_CONFIG, (char *)dir) == SASL_OK, "sasl_set_path");
    CHECK(sasl_server_init(NULL, "debian") == SASL_OK, "sasl_server_init");
    CHECK(is(sasl_config_getstring("mech_list", def), "plain login"), "mech_list after sasl_server_init");
    sasl_server_done();
    sasl_common_done();
#ifndef CYRUS
    /* sasl_common_done forgot the path: the next init does not find debian.conf. */
    CHECK(sasl_server_init(NULL, "debian") == SASL_OK, "sasl_server_init again");
    CHECK(sasl_config_getstring("mech_list", def) == def, "sasl_common_done kept the path");
    sasl_server_done();
#endif
    printf("ok common_done\n");
    if (failures) return 1;
    printf("ok all\n");
    return 0;
}
