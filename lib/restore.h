#ifndef COFFER_RESTORE_H
#define COFFER_RESTORE_H
#endif
