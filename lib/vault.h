#ifndef COFFER_VAULT_H
#define COFFER_VAULT_H
#endif
