#ifndef COFFER_BACKUP_H
#define COFFER_BACKUP_H
#endif
