/* Prints every constant and struct layout puresasl's header shares with Cyrus's. Compiled
 * once against /usr/include/sasl (Cyrus) and once against include/sasl (ours); the outputs
 * must be identical. */
#include <stddef.h>
#include <stdio.h>
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <sasl/prop.h>
#include <sasl/saslplug.h> /* the plug-in interface (Cyrus also keeps SASL_AUXPROP_* here) */

#define C(name) printf("%s %ld\n", #name, (long)(name))
#define S(type) printf("sizeof %s %zu align %zu\n", #type, sizeof(type), _Alignof(type))
#define O(type, field) printf("offsetof %s.%s %zu size %zu\n", #type, #field, offsetof(type, field), sizeof(((type *)0)->field))

int main(void)
{
    C(SASL_CONTINUE);
    C(SASL_OK);
    C(SASL_FAIL);
    C(SASL_NOMEM);
    C(SASL_BUFOVER);
    C(SASL_NOMECH);
    C(SASL_BADPROT);
    C(SASL_NOTDONE);
    C(SASL_BADPARAM);
    C(SASL_TRYAGAIN);
    C(SASL_BADMAC);
    C(SASL_NOTINIT);
    C(SASL_INTERACT);
    C(SASL_BADSERV);
    C(SASL_WRONGMECH);
    C(SASL_BADAUTH);
    C(SASL_NOAUTHZ);
    C(SASL_TOOWEAK);
    C(SASL_ENCRYPT);
    C(SASL_TRANS);
    C(SASL_EXPIRED);
    C(SASL_DISABLED);
    C(SASL_NOUSER);
    C(SASL_BADVERS);
    C(SASL_UNAVAIL);
    C(SASL_NOVERIFY);
    C(SASL_PWLOCK);
    C(SASL_NOCHANGE);
    C(SASL_WEAKPASS);
    C(SASL_NOUSERPASS);
    C(SASL_NEED_OLD_PASSWD);
    C(SASL_CONSTRAINT_VIOLAT);
    C(SASL_BADBINDING);
    C(SASL_CONFIGERR);
    C(SASL_VERSION_MAJOR);
    C(SASL_VERSION_MINOR);
    C(SASL_VERSION_STEP);
    C(SASL_VERSION_FULL);
    C(SASL_MECHNAMEMAX);
    C(SASL_PATH_TYPE_PLUGIN);
    C(SASL_PATH_TYPE_CONFIG);
    C(SASL_SEC_NOPLAINTEXT);
    C(SASL_SEC_NOACTIVE);
    C(SASL_SEC_NODICTIONARY);
    C(SASL_SEC_FORWARD_SECRECY);
    C(SASL_SEC_NOANONYMOUS);
    C(SASL_SEC_PASS_CREDENTIALS);
    C(SASL_SEC_MUTUAL_AUTH);
    C(SASL_SEC_MAXIMUM);
    C(SASL_SUCCESS_DATA);
    C(SASL_NEED_PROXY);
    C(SASL_NEED_HTTP);
    C(SASL_CB_LIST_END);
    C(SASL_CB_GETOPT);
    C(SASL_CB_LOG);
    C(SASL_CB_GETPATH);
    C(SASL_CB_VERIFYFILE);
    C(SASL_CB_GETCONFPATH);
    C(SASL_CB_USER);
    C(SASL_CB_AUTHNAME);
    C(SASL_CB_LANGUAGE);
    C(SASL_CB_PASS);
    C(SASL_CB_ECHOPROMPT);
    C(SASL_CB_NOECHOPROMPT);
    C(SASL_CB_CNONCE);
    C(SASL_CB_GETREALM);
    C(SASL_CB_PROXY_POLICY);
    C(SASL_CB_SERVER_USERDB_CHECKPASS);
    C(SASL_CB_SERVER_USERDB_SETPASS);
    C(SASL_CB_CANON_USER);
    C(SASL_LOG_NONE);
    C(SASL_LOG_ERR);
    C(SASL_LOG_FAIL);
    C(SASL_LOG_WARN);
    C(SASL_LOG_NOTE);
    C(SASL_LOG_DEBUG);
    C(SASL_LOG_TRACE);
    C(SASL_LOG_PASS);
    C(SASL_NOLOG);
    C(SASL_USERNAME);
    C(SASL_SSF);
    C(SASL_MAXOUTBUF);
    C(SASL_DEFUSERREALM);
    C(SASL_GETOPTCTX);
    C(SASL_CALLBACK);
    C(SASL_IPLOCALPORT);
    C(SASL_IPREMOTEPORT);
    C(SASL_PLUGERR);
    C(SASL_DELEGATEDCREDS);
    C(SASL_SERVICE);
    C(SASL_SERVERFQDN);
    C(SASL_AUTHSOURCE);
    C(SASL_MECHNAME);
    C(SASL_AUTHUSER);
    C(SASL_APPNAME);
    C(SASL_GSS_CREDS);
    C(SASL_GSS_PEER_NAME);
    C(SASL_GSS_LOCAL_NAME);
    C(SASL_CHANNEL_BINDING);
    C(SASL_HTTP_REQUEST);
    C(SASL_SSF_EXTERNAL);
    C(SASL_SEC_PROPS);
    C(SASL_AUTH_EXTERNAL);
    C(SASL_CU_AUTHID);
    C(SASL_CU_AUTHZID);
    C(SASL_CU_EXTERNALLY_VERIFIED);
    C(SASL_CU_OVERRIDE);
    C(SASL_CU_VERIFY_AGAINST_HASH);
    C(SASL_SET_CREATE);
    C(SASL_SET_DISABLE);
    C(SASL_SET_NOPLAIN);
    C(SASL_SET_CURMECH_ONLY);
    C(SASL_AUXPROP_OVERRIDE);
    C(SASL_AUXPROP_AUTHZID);
    C(SASL_AUXPROP_VERIFY_AGAINST_HASH);
    C(SASL_VRFY_PLUGIN);
    C(SASL_VRFY_CONF);
    C(SASL_VRFY_PASSWD);
    C(SASL_VRFY_OTHER);
    S(sasl_callback_t);
    O(sasl_callback_t, id);
    O(sasl_callback_t, proc);
    O(sasl_callback_t, context);
    S(sasl_interact_t);
    O(sasl_interact_t, id);
    O(sasl_interact_t, challenge);
    O(sasl_interact_t, prompt);
    O(sasl_interact_t, defresult);
    O(sasl_interact_t, result);
    O(sasl_interact_t, len);
    S(sasl_security_properties_t);
    O(sasl_security_properties_t, min_ssf);
    O(sasl_security_properties_t, max_ssf);
    O(sasl_security_properties_t, maxbufsize);
    O(sasl_security_properties_t, security_flags);
    O(sasl_security_properties_t, property_names);
    O(sasl_security_properties_t, property_values);
    S(sasl_secret_t);
    O(sasl_secret_t, len);
    O(sasl_secret_t, data);
    S(sasl_channel_binding_t);
    O(sasl_channel_binding_t, name);
    O(sasl_channel_binding_t, critical);
    O(sasl_channel_binding_t, len);
    O(sasl_channel_binding_t, data);
    S(struct propval);
    O(struct propval, name);
    O(struct propval, values);
    O(struct propval, nvalues);
    O(struct propval, valsize);
    S(sasl_ssf_t);
    /* The plug-in interface (saslplug.h): every field of every struct. */
    C(SASL_UTILS_VERSION);
    C(SASL_SERVER_PLUG_VERSION);
    C(SASL_CLIENT_PLUG_VERSION);
    C(SASL_AUXPROP_PLUG_VERSION);
    C(SASL_CANONUSER_PLUG_VERSION);
    C(SASL_FEAT_WANT_CLIENT_FIRST);
    C(SASL_FEAT_SERVER_FIRST);
    C(SASL_FEAT_ALLOWS_PROXY);
    C(SASL_FEAT_DONTUSE_USERPASSWD);
    C(SASL_FEAT_GSS_FRAMING);
    C(SASL_FEAT_CHANNEL_BINDING);
    C(SASL_FEAT_SUPPORTS_HTTP);
    C(SASL_FEAT_NEEDSERVERFQDN);
    C(SASL_FEAT_SERVICE);
    C(SASL_FEAT_GETSECRET);
    C(SASL_SET_REMOVE);
    C(SASL_INFO_LIST_START);
    C(SASL_INFO_LIST_MECH);
    C(SASL_INFO_LIST_END);
    C(SASL_CB_DISP_NONE);
    C(SASL_CB_DISP_WANT);
    C(SASL_CB_DISP_USED);
    C(HMAC_MD5_SIZE);
    S(sasl_http_request_t);
    O(sasl_http_request_t, method);
    O(sasl_http_request_t, uri);
    O(sasl_http_request_t, entity);
    O(sasl_http_request_t, elen);
    O(sasl_http_request_t, non_persist);
    S(MD5_CTX);
    O(MD5_CTX, state);
    O(MD5_CTX, count);
    O(MD5_CTX, buffer);
    S(HMAC_MD5_CTX);
    O(HMAC_MD5_CTX, ictx);
    O(HMAC_MD5_CTX, octx);
    S(HMAC_MD5_STATE);
    O(HMAC_MD5_STATE, istate);
    O(HMAC_MD5_STATE, ostate);
    S(sasl_http_request_t);
    O(sasl_http_request_t, method);
    O(sasl_http_request_t, uri);
    O(sasl_http_request_t, entity);
    O(sasl_http_request_t, elen);
    O(sasl_http_request_t, non_persist);
    S(sasl_utils_t);
    O(sasl_utils_t, version);
    O(sasl_utils_t, conn);
    O(sasl_utils_t, rpool);
    O(sasl_utils_t, getopt_context);
    O(sasl_utils_t, getopt);
    O(sasl_utils_t, malloc);
    O(sasl_utils_t, calloc);
    O(sasl_utils_t, realloc);
    O(sasl_utils_t, free);
    O(sasl_utils_t, mutex_alloc);
    O(sasl_utils_t, mutex_lock);
    O(sasl_utils_t, mutex_unlock);
    O(sasl_utils_t, mutex_free);
    O(sasl_utils_t, MD5Init);
    O(sasl_utils_t, MD5Update);
    O(sasl_utils_t, MD5Final);
    O(sasl_utils_t, hmac_md5);
    O(sasl_utils_t, hmac_md5_init);
    O(sasl_utils_t, hmac_md5_final);
    O(sasl_utils_t, hmac_md5_precalc);
    O(sasl_utils_t, hmac_md5_import);
    O(sasl_utils_t, mkchal);
    O(sasl_utils_t, utf8verify);
    O(sasl_utils_t, rand);
    O(sasl_utils_t, churn);
    O(sasl_utils_t, checkpass);
    O(sasl_utils_t, decode64);
    O(sasl_utils_t, encode64);
    O(sasl_utils_t, erasebuffer);
    O(sasl_utils_t, getprop);
    O(sasl_utils_t, setprop);
    O(sasl_utils_t, getcallback);
    O(sasl_utils_t, log);
    O(sasl_utils_t, seterror);
    O(sasl_utils_t, spare_fptr);
    O(sasl_utils_t, prop_new);
    O(sasl_utils_t, prop_dup);
    O(sasl_utils_t, prop_request);
    O(sasl_utils_t, prop_get);
    O(sasl_utils_t, prop_getnames);
    O(sasl_utils_t, prop_clear);
    O(sasl_utils_t, prop_dispose);
    O(sasl_utils_t, prop_format);
    O(sasl_utils_t, prop_set);
    O(sasl_utils_t, prop_setvals);
    O(sasl_utils_t, prop_erase);
    O(sasl_utils_t, auxprop_store);
    O(sasl_utils_t, spare_fptr1);
    O(sasl_utils_t, spare_fptr2);
    S(sasl_out_params_t);
    O(sasl_out_params_t, doneflag);
    O(sasl_out_params_t, user);
    O(sasl_out_params_t, authid);
    O(sasl_out_params_t, ulen);
    O(sasl_out_params_t, alen);
    O(sasl_out_params_t, maxoutbuf);
    O(sasl_out_params_t, mech_ssf);
    O(sasl_out_params_t, encode_context);
    O(sasl_out_params_t, encode);
    O(sasl_out_params_t, decode_context);
    O(sasl_out_params_t, decode);
    O(sasl_out_params_t, client_creds);
    O(sasl_out_params_t, gss_peer_name);
    O(sasl_out_params_t, gss_local_name);
    O(sasl_out_params_t, cbindingname);
    O(sasl_out_params_t, spare_fptr1);
    O(sasl_out_params_t, spare_fptr2);
    O(sasl_out_params_t, cbindingdisp);
    O(sasl_out_params_t, spare_int2);
    O(sasl_out_params_t, spare_int3);
    O(sasl_out_params_t, spare_int4);
    O(sasl_out_params_t, param_version);
    S(sasl_client_params_t);
    O(sasl_client_params_t, service);
    O(sasl_client_params_t, serverFQDN);
    O(sasl_client_params_t, clientFQDN);
    O(sasl_client_params_t, utils);
    O(sasl_client_params_t, prompt_supp);
    O(sasl_client_params_t, iplocalport);
    O(sasl_client_params_t, ipremoteport);
    O(sasl_client_params_t, servicelen);
    O(sasl_client_params_t, slen);
    O(sasl_client_params_t, clen);
    O(sasl_client_params_t, iploclen);
    O(sasl_client_params_t, ipremlen);
    O(sasl_client_params_t, props);
    O(sasl_client_params_t, external_ssf);
    O(sasl_client_params_t, gss_creds);
    O(sasl_client_params_t, cbinding);
    O(sasl_client_params_t, http_request);
    O(sasl_client_params_t, spare_ptr4);
    O(sasl_client_params_t, canon_user);
    O(sasl_client_params_t, spare_fptr1);
    O(sasl_client_params_t, cbindingdisp);
    O(sasl_client_params_t, log_level);
    O(sasl_client_params_t, spare_int3);
    O(sasl_client_params_t, flags);
    O(sasl_client_params_t, param_version);
    S(sasl_client_plug_t);
    O(sasl_client_plug_t, mech_name);
    O(sasl_client_plug_t, max_ssf);
    O(sasl_client_plug_t, security_flags);
    O(sasl_client_plug_t, features);
    O(sasl_client_plug_t, required_prompts);
    O(sasl_client_plug_t, glob_context);
    O(sasl_client_plug_t, mech_new);
    O(sasl_client_plug_t, mech_step);
    O(sasl_client_plug_t, mech_dispose);
    O(sasl_client_plug_t, mech_free);
    O(sasl_client_plug_t, idle);
    O(sasl_client_plug_t, spare_fptr1);
    O(sasl_client_plug_t, spare_fptr2);
    S(client_sasl_mechanism_t);
    O(client_sasl_mechanism_t, version);
    O(client_sasl_mechanism_t, plugname);
    O(client_sasl_mechanism_t, plug);
    S(sasl_server_params_t);
    O(sasl_server_params_t, service);
    O(sasl_server_params_t, appname);
    O(sasl_server_params_t, serverFQDN);
    O(sasl_server_params_t, user_realm);
    O(sasl_server_params_t, iplocalport);
    O(sasl_server_params_t, ipremoteport);
    O(sasl_server_params_t, servicelen);
    O(sasl_server_params_t, applen);
    O(sasl_server_params_t, slen);
    O(sasl_server_params_t, urlen);
    O(sasl_server_params_t, iploclen);
    O(sasl_server_params_t, ipremlen);
    O(sasl_server_params_t, log_level);
    O(sasl_server_params_t, utils);
    O(sasl_server_params_t, callbacks);
    O(sasl_server_params_t, props);
    O(sasl_server_params_t, external_ssf);
    O(sasl_server_params_t, transition);
    O(sasl_server_params_t, canon_user);
    O(sasl_server_params_t, propctx);
    O(sasl_server_params_t, gss_creds);
    O(sasl_server_params_t, cbinding);
    O(sasl_server_params_t, http_request);
    O(sasl_server_params_t, spare_ptr4);
    O(sasl_server_params_t, spare_fptr1);
    O(sasl_server_params_t, spare_fptr2);
    O(sasl_server_params_t, spare_int1);
    O(sasl_server_params_t, spare_int2);
    O(sasl_server_params_t, spare_int3);
    O(sasl_server_params_t, flags);
    O(sasl_server_params_t, param_version);
    S(sasl_server_plug_t);
    O(sasl_server_plug_t, mech_name);
    O(sasl_server_plug_t, max_ssf);
    O(sasl_server_plug_t, security_flags);
    O(sasl_server_plug_t, features);
    O(sasl_server_plug_t, glob_context);
    O(sasl_server_plug_t, mech_new);
    O(sasl_server_plug_t, mech_step);
    O(sasl_server_plug_t, mech_dispose);
    O(sasl_server_plug_t, mech_free);
    O(sasl_server_plug_t, setpass);
    O(sasl_server_plug_t, user_query);
    O(sasl_server_plug_t, idle);
    O(sasl_server_plug_t, mech_avail);
    O(sasl_server_plug_t, spare_fptr2);
    S(server_sasl_mechanism_t);
    O(server_sasl_mechanism_t, version);
    O(server_sasl_mechanism_t, condition);
    O(server_sasl_mechanism_t, plugname);
    O(server_sasl_mechanism_t, plug);
    O(server_sasl_mechanism_t, f);
    S(sasl_canonuser_plug_t);
    O(sasl_canonuser_plug_t, features);
    O(sasl_canonuser_plug_t, spare_int1);
    O(sasl_canonuser_plug_t, glob_context);
    O(sasl_canonuser_plug_t, name);
    O(sasl_canonuser_plug_t, canon_user_free);
    O(sasl_canonuser_plug_t, canon_user_server);
    O(sasl_canonuser_plug_t, canon_user_client);
    O(sasl_canonuser_plug_t, spare_fptr1);
    O(sasl_canonuser_plug_t, spare_fptr2);
    O(sasl_canonuser_plug_t, spare_fptr3);
    S(sasl_auxprop_plug_t);
    O(sasl_auxprop_plug_t, features);
    O(sasl_auxprop_plug_t, spare_int1);
    O(sasl_auxprop_plug_t, glob_context);
    O(sasl_auxprop_plug_t, auxprop_free);
    O(sasl_auxprop_plug_t, auxprop_lookup);
    O(sasl_auxprop_plug_t, name);
    O(sasl_auxprop_plug_t, auxprop_store);
    {
        int (*sadd)(const char *, sasl_server_plug_init_t *) = sasl_server_add_plugin;
        int (*cadd)(const char *, sasl_client_plug_init_t *) = sasl_client_add_plugin;
        int (*aadd)(const char *, sasl_auxprop_init_t *) = sasl_auxprop_add_plugin;
        int (*uadd)(const char *, sasl_canonuser_init_t *) = sasl_canonuser_add_plugin;
        int (*sinfo)(const char *, sasl_server_info_callback_t *, void *) = sasl_server_plugin_info;
        int (*cinfo)(const char *, sasl_client_info_callback_t *, void *) = sasl_client_plugin_info;
        int (*ainfo)(const char *, auxprop_info_callback_t *, void *) = auxprop_plugin_info;
        sasl_getcallback_t *getcallback = 0;
        sasl_logmsg_p *logmsg = 0;
        void *plug_fns[] = { (void *)sadd, (void *)cadd, (void *)aadd, (void *)uadd,
                             (void *)sinfo, (void *)cinfo, (void *)ainfo, (void *)getcallback,
                             (void *)logmsg };
        printf("plug-in prototypes %zu\n", sizeof plug_fns / sizeof plug_fns[0]);
    }
    /* The prototypes must agree too: take the address of each export with Cyrus's type. */
    {
        sasl_getopt_t *getopt = 0; sasl_log_t *log = 0; sasl_getsimple_t *simple = 0;
        sasl_getsecret_t *secret = 0; sasl_getconfpath_t *confpath = 0;
        sasl_authorize_t *authorize = 0; sasl_getrealm_t *realm = 0;
        sasl_chalprompt_t *prompt = 0; sasl_canon_user_t *canon = 0;
        sasl_server_userdb_checkpass_t *checkpass = 0;
        void *fns[] = {
            (void *)getopt, (void *)log, (void *)simple, (void *)secret, (void *)confpath,
            (void *)authorize, (void *)realm, (void *)prompt, (void *)canon, (void *)checkpass,
        };
        int (*server_init)(const sasl_callback_t *, const char *) = sasl_server_init;
        int (*client_init)(const sasl_callback_t *) = sasl_client_init;
        int (*server_new)(const char *, const char *, const char *, const char *, const char *,
                          const sasl_callback_t *, unsigned, sasl_conn_t **) = sasl_server_new;
        int (*client_new)(const char *, const char *, const char *, const char *,
                          const sasl_callback_t *, unsigned, sasl_conn_t **) = sasl_client_new;
        int (*server_start)(sasl_conn_t *, const char *, const char *, unsigned, const char **,
                            unsigned *) = sasl_server_start;
        int (*server_step)(sasl_conn_t *, const char *, unsigned, const char **, unsigned *) =
            sasl_server_step;
        int (*client_start)(sasl_conn_t *, const char *, sasl_interact_t **, const char **,
                            unsigned *, const char **) = sasl_client_start;
        int (*client_step)(sasl_conn_t *, const char *, unsigned, sasl_interact_t **,
                           const char **, unsigned *) = sasl_client_step;
        int (*listmech)(sasl_conn_t *, const char *, const char *, const char *, const char *,
                        const char **, unsigned *, int *) = sasl_listmech;
        int (*setprop)(sasl_conn_t *, int, const void *) = sasl_setprop;
        int (*getprop)(sasl_conn_t *, int, const void **) = sasl_getprop;
        void (*dispose)(sasl_conn_t **) = sasl_dispose;
        void (*done)(void) = sasl_done;
        const char *(*errstring)(int, const char *, const char **) = sasl_errstring;
        void (*version_info)(const char **, const char **, int *, int *, int *, int *) =
            sasl_version_info;
        int (*encode64)(const char *, unsigned, char *, unsigned, unsigned *) = sasl_encode64;
        int (*decode64)(const char *, unsigned, char *, unsigned, unsigned *) = sasl_decode64;
        int (*encode)(sasl_conn_t *, const char *, unsigned, const char **, unsigned *) =
            sasl_encode;
        int (*decode)(sasl_conn_t *, const char *, unsigned, const char **, unsigned *) =
            sasl_decode;
        const char *(*errdetail)(sasl_conn_t *) = sasl_errdetail;
        void (*seterror)(sasl_conn_t *, unsigned, const char *, ...) = sasl_seterror;
        int (*checkpass_fn)(sasl_conn_t *, const char *, unsigned, const char *, unsigned) =
            sasl_checkpass;
        int (*user_exists)(sasl_conn_t *, const char *, const char *, const char *) =
            sasl_user_exists;
        int (*setpass)(sasl_conn_t *, const char *, const char *, unsigned, const char *,
                       unsigned, unsigned) = sasl_setpass;
        void (*version)(const char **, int *) = sasl_version;
        int (*utf8verify)(const char *, unsigned) = sasl_utf8verify;
        void (*set_alloc)(sasl_malloc_t *, sasl_calloc_t *, sasl_realloc_t *, sasl_free_t *) =
            sasl_set_alloc;
        void (*set_mutex)(sasl_mutex_alloc_t *, sasl_mutex_lock_t *, sasl_mutex_unlock_t *,
                          sasl_mutex_free_t *) = sasl_set_mutex;
        const char **(*global_listmech)(void) = sasl_global_listmech;
        int (*server_done)(void) = sasl_server_done;
        int (*client_done)(void) = sasl_client_done;
        int (*set_path)(int, char *) = sasl_set_path;
        struct propctx *(*pnew)(unsigned) = prop_new;
        int (*prequest)(struct propctx *, const char **) = prop_request;
        const struct propval *(*pget)(struct propctx *) = prop_get;
        int (*pgetnames)(struct propctx *, const char **, struct propval *) = prop_getnames;
        void (*pclear)(struct propctx *, int) = prop_clear;
        void (*pdispose)(struct propctx **) = prop_dispose;
        int (*pset)(struct propctx *, const char *, const char *, int) = prop_set;
        int (*arequest)(sasl_conn_t *, const char **) = sasl_auxprop_request;
        struct propctx *(*agetctx)(sasl_conn_t *) = sasl_auxprop_getctx;
        int (*astore)(sasl_conn_t *, struct propctx *, const char *) = sasl_auxprop_store;
        int (*pdup)(struct propctx *, struct propctx **) = prop_dup;
        void (*perase)(struct propctx *, const char *) = prop_erase;
        int (*psetvals)(struct propctx *, const char *, const char **) = prop_setvals;
        int (*pformat)(struct propctx *, const char *, int, char *, unsigned, unsigned *) =
            prop_format;
        int (*checkapop)(sasl_conn_t *, const char *, unsigned, const char *, unsigned) =
            sasl_checkapop;
        void (*erasebuffer)(char *, unsigned) = sasl_erasebuffer;
        char *(*strlower)(char *) = sasl_strlower;
        int (*mkchal)(sasl_conn_t *, char *, unsigned, unsigned) = sasl_mkchal;
        int (*randcreate)(sasl_rand_t **) = sasl_randcreate;
        void (*randfree)(sasl_rand_t **) = sasl_randfree;
        void (*randseed)(sasl_rand_t *, const char *, unsigned) = sasl_randseed;
        void (*rand_fn)(sasl_rand_t *, char *, unsigned) = sasl_rand;
        void (*churn)(sasl_rand_t *, const char *, unsigned) = sasl_churn;
        int (*idle)(sasl_conn_t *) = sasl_idle;
        int (*encodev)(sasl_conn_t *, const struct iovec *, unsigned, const char **, unsigned *) =
            sasl_encodev;
        void *all[] = {
            (void *)server_init, (void *)client_init, (void *)server_new, (void *)client_new,
            (void *)server_start, (void *)server_step, (void *)client_start, (void *)client_step,
            (void *)listmech, (void *)setprop, (void *)getprop, (void *)dispose, (void *)done,
            (void *)errstring, (void *)version_info, (void *)encode64, (void *)decode64,
            (void *)encode, (void *)decode, (void *)errdetail, (void *)seterror,
            (void *)checkpass_fn, (void *)user_exists, (void *)setpass, (void *)version,
            (void *)utf8verify, (void *)set_alloc, (void *)set_mutex, (void *)global_listmech,
            (void *)server_done, (void *)client_done, (void *)set_path, (void *)pnew,
            (void *)prequest, (void *)pget, (void *)pgetnames, (void *)pclear, (void *)pdispose,
            (void *)pset, (void *)arequest, (void *)agetctx, (void *)astore,
            (void *)erasebuffer, (void *)strlower, (void *)mkchal, (void *)randcreate,
            (void *)randfree, (void *)randseed, (void *)rand_fn, (void *)churn, (void *)idle,
            (void *)encodev, (void *)pdup, (void *)perase, (void *)psetvals, (void *)pformat,
            (void *)checkapop,
        };
        printf("prototypes %zu %zu\n", sizeof fns / sizeof fns[0], sizeof all / sizeof all[0]);
    }
    return 0;
}
