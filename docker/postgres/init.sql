-- LHCMS database roles for docker compose (run once by the postgres image on
-- an empty volume, as the superuser). Mirrors libs/database provisionDatabase:
--   lhcms_owner  owns the database and the schema; migrations run as it
--   lhcms_app    the API's role: owns nothing, no BYPASSRLS; table privileges
--                come from the migrations' explicit GRANTs
-- The passwords are development values for compose only. In production the
-- roles are created by the DBA and the URLs live in the `lhcms-secrets` Secret.
CREATE ROLE lhcms_owner LOGIN PASSWORD 'lhcms-owner-dev-password' NOSUPERUSER NOBYPASSRLS;
CREATE ROLE lhcms_app LOGIN PASSWORD 'lhcms-app-dev-password' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
CREATE DATABASE lhcms_dev OWNER lhcms_owner ENCODING 'UTF8' TEMPLATE template0;
GRANT CONNECT, TEMPORARY ON DATABASE lhcms_dev TO lhcms_app;
