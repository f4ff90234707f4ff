DROP TABLE account_admins;
