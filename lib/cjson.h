#ifndef COFFER_CJSON_H
#define COFFER_CJSON_H
#endif
